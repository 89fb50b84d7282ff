package bolt

import (
	"path/filepath"
	"testing"

	bbolt "go.etcd.io/bbolt"
)

// TestJournalRemovalDurable: a segment written to the tree is deleted
// durably (the directory synced after the deletion) before the call that
// applied it returns. A deletion lost in a crash would bring the segment
// back, and replaying it over the commits made to the tree since (by a
// Store from New, which does not touch the journal's directory) would
// undo them: a record deleted since would come back, a revocation made
// since would be lost.
func TestJournalRemovalDurable(t *testing.T) {
	gone := func(t *testing.T, syncs []int) {
		t.Helper()
		if len(syncs) == 0 || syncs[len(syncs)-1] != 0 {
			t.Errorf("segments left at each directory sync: %v, want the last with none", syncs)
		}
	}
	t.Run("New", func(t *testing.T) {
		_, path, _ := journaled(t)
		img := crashImage(t, path)
		syncs := watchDirSyncs(t, img)
		db, err := bbolt.Open(img, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		s, err := New(db)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		gone(t, syncs())
	})
	t.Run("Open", func(t *testing.T) {
		_, path, _ := journaled(t)
		img := crashImage(t, path)
		syncs := watchDirSyncs(t, img)
		s, err := Open(img, never)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		gone(t, syncs())
	})
	for _, apply := range []string{"Checkpoint", "Close"} {
		t.Run(apply, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "revocation.db")
			s, err := Open(path, never)
			if err != nil {
				t.Fatal(err)
			}
			syncs := watchDirSyncs(t, path)
			put(t, s, rec("a", "a"))
			if apply == "Checkpoint" {
				err = s.Checkpoint(bg)
				defer s.Close()
			} else {
				err = s.Close()
			}
			if err != nil {
				t.Fatal(err)
			}
			gone(t, syncs())
		})
	}
}
