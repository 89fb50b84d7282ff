package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// failingViews is a Store whose Views fail from the second on: an export
// that breaks after its first page.
type failingViews struct {
	revoke.Store
	views int
}

var errBroke = errors.New("the store broke")

func (s *failingViews) View(ctx context.Context, fn func(revoke.Tx) error) error {
	if s.views++; s.views > 1 {
		return errBroke
	}
	return s.Store.View(ctx, fn)
}

// TestExportFileKeepsOldFileOnFailure exports into a file that holds an
// earlier export, from a store that fails after the first page: the error
// is returned, the file still holds the earlier export, and no partial file
// is left beside it. A whole export then replaces it.
func TestExportFileKeepsOldFileOnFailure(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	rv, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer rv.Close()
	for _, tok := range []string{"tok-a", "tok-b", "tok-c"} {
		if err := rv.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Access, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "records.jsonl")
	if err := os.WriteFile(path, []byte("yesterday's export\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := exportFile(ctx, &failingViews{Store: s}, 1, path); !errors.Is(err, errBroke) {
		t.Fatalf("export from a failing store: %v, want %v", err, errBroke)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "yesterday's export\n" {
		t.Errorf("after a failed export the file holds %q (%v), want the earlier export", got, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("after a failed export the directory holds %d entries, want the file alone", len(entries))
	}
	res, err := exportFile(ctx, s, 1, path)
	if err != nil || res.Records != 3 {
		t.Fatalf("export = %+v, %v; want 3 records", res, err)
	}
	if got, _ := os.ReadFile(path); len(got) == 0 || string(got) == "yesterday's export\n" {
		t.Errorf("a whole export left the file as %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("after an export the directory holds %d entries, want the file alone", len(entries))
	}
}
