//go:build cgo

package sqlite_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/sqlite"
)

// tablesOf returns the names of the tables in the database file at path,
// read through a connection of its own.
func tablesOf(t *testing.T, path string) []string {
	t.Helper()
	db := sqlx.MustOpen("sqlite3", "file:"+path+"?mode=ro")
	defer db.Close()
	var names []string
	if err := db.Select(&names, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`); err != nil {
		t.Fatal(err)
	}
	return names
}

// TestWithReadOnlyCreatesNothing: WithReadOnly never creates a file or a
// table. A missing file, and tables missing under the prefix given (a
// mistyped prefix), fail Open with a clear error, and the database is left
// as it was.
func TestWithReadOnlyCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	if s, err := sqlite.Open(missing, sqlite.WithReadOnly()); !errors.Is(err, fs.ErrNotExist) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open WithReadOnly of a missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open WithReadOnly created %s: %v", missing, err)
	}

	path := filepath.Join(dir, "revoke.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	before := tablesOf(t, path)
	for _, db := range []string{"Open", "New"} {
		var err error
		if db == "Open" {
			s, err = sqlite.Open(path, sqlite.WithReadOnly(), sqlite.WithTablePrefix("revoke_typo_"))
		} else {
			app := sqlx.MustOpen("sqlite3", path)
			defer app.Close()
			s, err = sqlite.New(app, sqlite.WithReadOnly(), sqlite.WithTablePrefix("revoke_typo_"))
		}
		if !errors.Is(err, sqlite.ErrNotMigrated) || !errors.Is(err, revoke.ErrReadOnly) {
			if err == nil {
				s.Close()
			}
			t.Fatalf("%s WithReadOnly of a prefix without tables: %v, want ErrNotMigrated and ErrReadOnly", db, err)
		}
		t.Logf("%s: %v", db, err)
	}
	if after := tablesOf(t, path); len(after) != len(before) {
		t.Fatalf("tables %v became %v", before, after)
	}
}

// TestWithReadOnlyReads: a read-only Store beside a writable one reads what
// it committed, including revocations committed after it opened (the
// Revoker over it follows them), and refuses every write with ErrReadOnly.
func TestWithReadOnlyReads(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "revoke.db")
	ws, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	w := newRevoker(t, ws)
	live := issue(t, w, revoke.Access, "c1", "")
	gone := issue(t, w, revoke.Access, "c1", "")
	later := issue(t, w, revoke.Access, "c1", "")
	if _, err := w.Revoke(ctx, gone, "c1"); err != nil {
		t.Fatal(err)
	}

	rs, err := sqlite.Open(path, sqlite.WithReadOnly())
	if err != nil {
		t.Fatalf("Open WithReadOnly: %v", err)
	}
	if found, revoked := stored(t, rs, gone); !found || !revoked {
		t.Errorf("the read-only Store reads %v %v for a revoked token", found, revoked)
	}
	r := newRevoker(t, rs, revoke.WithFollow(revoke.FollowPolicy{Interval: 10 * time.Millisecond}))
	if !isRevoked(t, r, gone) || isRevoked(t, r, live) {
		t.Error("the read-only Store answers IsRevoked wrongly")
	}
	if _, err := w.Revoke(ctx, later, "c1"); err != nil {
		t.Fatal(err)
	}
	waitRevoked(t, r, later)

	err = rs.Update(ctx, func(revoke.Tx) error { return nil })
	if !errors.Is(err, revoke.ErrReadOnly) {
		t.Errorf("Update: %v, want ErrReadOnly", err)
	}
	err = r.Issue(ctx, revoke.Token{Value: tok(), Kind: revoke.Access, ClientID: "c1", ExpiresAt: time.Now().Add(time.Hour)})
	if !errors.Is(err, revoke.ErrReadOnly) {
		t.Errorf("Issue: %v, want ErrReadOnly", err)
	}
	if _, err := r.Revoke(ctx, live, "c1"); !errors.Is(err, revoke.ErrReadOnly) {
		t.Errorf("Revoke: %v, want ErrReadOnly", err)
	}
	if _, revoked := stored(t, ws, live); revoked {
		t.Error("a read-only Store's Revoke reached the database")
	}
}

// TestErrorsWrapRevokes checks that sqlite's exported sentinels wrap
// revoke's, so that one errors.Is asks "is the store damaged?" whatever the
// backend. (The errors of the other kinds are checked where they arise.)
func TestErrorsWrapRevokes(t *testing.T) {
	for name, c := range map[string][2]error{
		"ErrNotDatabase": {sqlite.ErrNotDatabase, revoke.ErrCorrupt},
		"ErrNotMigrated": {sqlite.ErrNotMigrated, revoke.ErrReadOnly},
	} {
		if !errors.Is(c[0], c[1]) {
			t.Errorf("sqlite.%s does not wrap %v", name, c[1])
		}
	}
}
