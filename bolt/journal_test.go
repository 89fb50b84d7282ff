package bolt_test

import (
	"encoding/binary"
	"fmt"
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
		update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{r}) })
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
	update(t, s, func(tx revoke.Tx) error { return tx.Delete(ctx, []revoke.ID{recs[0].ID}) })
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

// TestUpgradeOlderFormats: a store of format version 3 (the tree, no
// journal) or 4 (no Status List entries) is read as it is by a read-only
// Open, its records and revocations with the zero Status, and upgraded by
// a writable one, after which records keep their Status.
func TestUpgradeOlderFormats(t *testing.T) {
	for _, old := range []uint32{3, 4} {
		t.Run(fmt.Sprintf("Version%d", old), func(t *testing.T) { testUpgradeFormat(t, old) })
	}
}

func testUpgradeFormat(t *testing.T, old uint32) {
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
		return tx.Bucket([]byte("revocation")).Bucket([]byte("meta")).Put([]byte("version"), binary.BigEndian.AppendUint32(nil, old))
	})
	ro := mustOpen(t, path, bolt.WithReadOnly())
	if rec, found := get(t, ro, revoke.TokenID("refresh-0")); !found || !rec.Status.IsZero() {
		t.Errorf("a read-only Open of format %d: refresh-0 found %v, Status %+v, want found with the zero Status", old, found, rec.Status)
	}
	if revs := revokedSince(t, ro); len(revs) != 2 || !revs[0].Status.IsZero() || !revs[1].Status.IsZero() {
		t.Errorf("a read-only Open of format %d: RevokedSince = %+v, want 2 revocations with the zero Status", old, revs)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != old {
		t.Fatalf("a read-only Open changed the version to %d", v)
	}
	reopen(t, path)
	if v := version(); v != bolt.FormatVersion {
		t.Errorf("after a writable Open: version %d, want %d", v, bolt.FormatVersion)
	}
	s := mustOpen(t, path)
	rec := newRecord("with-status", time.Now().Add(time.Hour))
	rec.Seq, rec.Status = 100, revoke.StatusRef{List: 9, Index: 12345}
	update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) })
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path, bolt.WithReadOnly())
	defer s.Close()
	if got, found := get(t, s, rec.ID); !found || got.Status != rec.Status {
		t.Errorf("after the upgrade: Get = %+v (found %v), want Status %+v", got, found, rec.Status)
	}
	revs := revokedSince(t, s)
	if n := len(revs); n != 3 || revs[n-1].ID != rec.ID || revs[n-1].Status != rec.Status {
		t.Errorf("after the upgrade: RevokedSince = %+v, want the new revocation last with Status %+v", revs, rec.Status)
	}
}

// revokedSince returns every revocation of s.
func revokedSince(t *testing.T, s revoke.Store) []revoke.Revocation {
	t.Helper()
	var revs []revoke.Revocation
	err := s.View(ctx, func(tx revoke.Tx) error {
		return tx.RevokedSince(ctx, 0, func(rev revoke.Revocation) error {
			revs = append(revs, rev)
			return nil
		})
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return revs
}

// TestNewReplaysJournal: New over a database whose Store from Open left a
// journal (a crash) replays it, since New commits to the tree directly.
func TestNewReplaysJournal(t *testing.T) {
	path := tempPath(t)
	s := mustOpen(t, path)
	exp := time.Now().Add(time.Hour)
	a := newRecord("a", exp)
	update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{a}) })
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
