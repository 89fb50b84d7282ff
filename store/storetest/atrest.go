package storetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sdkauth/revocation/internal/harness"
	"github.com/sdkauth/revocation/revoke"
)

// RunAtRest proves that no raw token value reaches the store's files. It
// issues and revokes tokens in a store kept at a path in a fresh directory,
// then searches every file in that directory (the database and any journal,
// WAL or lock file beside it) for each raw value, as bytes and in hex and
// base64: while the store is open, after Close, and after reopening.
func RunAtRest(t *testing.T, open Opener) {
	dir := t.TempDir()
	path := filepath.Join(dir, "atrest.db")
	s, err := open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatalf("revoke.New: %v", err)
	}
	raws, revoked := atRestWorkload(t, r)
	searchFiles(t, dir, raws, "while open")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	searchFiles(t, dir, raws, "after Close")
	s, err = open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	r, err = revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	for i, raw := range revoked {
		if ok, err := r.IsRevoked(context.Background(), raw); err != nil || !ok {
			t.Fatalf("revoked token %d not revoked after reopening (err %v)", i, err)
		}
	}
	searchFiles(t, dir, raws, "after reopening")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// atRestWorkload issues 20 grants of a refresh and an access token through
// r and revokes each grant or its access token alone. It returns every raw
// value, and those revoked.
func atRestWorkload(t *testing.T, r *revoke.Revoker) (raws, revoked []string) {
	t.Helper()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	for i := range 20 {
		rt := "RAW-REFRESH-" + harness.Token()
		at := "RAW-ACCESS-" + harness.Token()
		raws = append(raws, rt, at)
		if err := r.Issue(ctx, revoke.Token{Value: rt, Kind: revoke.Refresh, ClientID: "client", Subject: "subject", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		if err := r.Issue(ctx, revoke.Token{Value: at, Kind: revoke.Access, ClientID: "client", Parent: rt, ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		// Revoke the grant (both tokens), or the access token alone.
		tok := rt
		revoked = append(revoked, at)
		if i%2 == 1 {
			tok = at
		} else {
			revoked = append(revoked, rt)
		}
		if _, err := r.Revoke(ctx, tok, "client"); err != nil {
			t.Fatal(err)
		}
	}
	return raws, revoked
}

func searchFiles(t *testing.T, dir string, raws []string, when string) {
	t.Helper()
	files, ids := 0, 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		for _, raw := range raws {
			for _, form := range []string{raw, hex.EncodeToString([]byte(raw)), base64.StdEncoding.EncodeToString([]byte(raw))} {
				if bytes.Contains(data, []byte(form)) {
					t.Errorf("%s: %s holds a raw token value", when, filepath.Base(p))
				}
			}
		}
		for _, raw := range raws {
			id := revoke.TokenID(raw)
			if bytes.Contains(data, id[:]) || bytes.Contains(data, []byte(id.String())) {
				ids++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatalf("%s: no file in %s to search", when, dir)
	}
	// The records must be there, under their SHA-256 IDs, for the search to
	// mean anything.
	if ids == 0 {
		t.Fatalf("%s: the files hold none of the tokens' SHA-256 IDs, so the search proves nothing", when)
	}
}
