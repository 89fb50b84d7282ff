package bolt_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/revoke"
	bbolt "go.etcd.io/bbolt"
)

// journalFiles returns the files beside the database at path other than
// the database itself: its journal.
func journalFiles(t *testing.T, path string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.Name() != filepath.Base(path) {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestCheckpoint: after Checkpoint the database file alone holds every
// acknowledged write, and no journal is left; Close leaves none either.
func TestCheckpoint(t *testing.T) {
	path := tempPath(t)
	s := mustOpen(t, path)
	exp := time.Now().Add(time.Hour)
	recs := []revoke.Record{newRecord("a", exp), newRecord("b", exp)}
	for _, r := range recs {
		update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, r) })
	}
	if len(journalFiles(t, path)) == 0 {
		t.Fatal("no journal beside the database after a commit")
	}
	if err := s.Checkpoint(ctx); err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	if left := journalFiles(t, path); len(left) != 0 {
		t.Errorf("after Checkpoint: %v beside the database", left)
	}
	// A backup: the database file alone, copied while the store is open.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	backup := tempPath(t)
	if err := os.WriteFile(backup, b, 0o600); err != nil {
		t.Fatal(err)
	}
	c := mustOpen(t, backup)
	for _, r := range recs {
		if _, found := get(t, c, r.ID); !found {
			t.Errorf("the backup lacks %s", r.ID)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	update(t, s, func(tx revoke.Tx) error { return tx.Delete(ctx, recs[0].ID) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if left := journalFiles(t, path); len(left) != 0 {
		t.Errorf("after Close: %v beside the database", left)
	}
	if err := s.Checkpoint(ctx); err == nil {
		t.Error("Checkpoint of a closed store succeeded")
	}
}

// TestUpgradeFormat3: a store of format version 3 (same tree, no journal)
// is read as it is by a read-only Open and upgraded by a writable one.
func TestUpgradeFormat3(t *testing.T) {
	path := populated(t, 2)
	version := func() uint32 {
		t.Helper()
		var v uint32
		db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second, ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		_ = db.View(func(tx *bbolt.Tx) error {
			v = binary.BigEndian.Uint32(tx.Bucket([]byte("revocation")).Bucket([]byte("meta")).Get([]byte("version")))
			return nil
		})
		return v
	}
	withBolt(t, path, func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("revocation")).Bucket([]byte("meta")).Put([]byte("version"), binary.BigEndian.AppendUint32(nil, 3))
	})
	ro := mustOpen(t, path, bolt.WithReadOnly())
	if _, found := get(t, ro, revoke.TokenID("refresh-0")); !found {
		t.Error("a read-only Open of format 3 does not find refresh-0")
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != 3 {
		t.Fatalf("a read-only Open changed the version to %d", v)
	}
	reopen(t, path)
	if v := version(); v != bolt.FormatVersion {
		t.Errorf("after a writable Open: version %d, want %d", v, bolt.FormatVersion)
	}
}

// TestNewReplaysJournal: New over a database whose Store from Open left a
// journal (a crash) replays it, since New commits to the tree directly.
func TestNewReplaysJournal(t *testing.T) {
	path := tempPath(t)
	s := mustOpen(t, path)
	exp := time.Now().Add(time.Hour)
	a := newRecord("a", exp)
	update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, a) })
	// The crash image: the database and the journal as they are now.
	img := filepath.Join(t.TempDir(), "revocation.db")
	for _, name := range append(journalFiles(t, path), filepath.Base(path)) {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(path), name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(filepath.Dir(img), name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bbolt.Open(img, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := bolt.New(db)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, found := get(t, n, a.ID); !found {
		t.Error("New lost the journaled record")
	}
	if left := journalFiles(t, img); len(left) != 0 {
		t.Errorf("after New: %v beside the database", left)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
}
