package bolt

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
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

// TestJournalRemovalSyncFailure: when the directory sync that makes the
// applier's deletion of a segment durable fails, the store fails as it
// does when a commit's sync fails (Updates return the error), rather than
// go on as if the deletion were durable; Close syncs the directory again.
func TestJournalRemovalSyncFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "revocation.db")
	var mu sync.Mutex
	failed, on := make(chan struct{}), true
	var after []int // segments at each directory sync after the failure
	onSyncDir(t, path, func(segments int) error {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case !on:
			after = append(after, segments)
		case segments == 0: // the sync after the deletion
			on = false
			close(failed)
			return errors.New("injected directory sync failure")
		}
		return nil
	})
	s, err := Open(path, withApply(1, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, b := rec("a", "a"), rec("b", "b")
	put(t, s, a) // applied at once, in the background
	select {
	case <-failed:
	case <-time.After(10 * time.Second):
		t.Fatal("the applier never deleted the segment")
	}
	// The applier has returned from the failed sync once the next
	// application can run: Checkpoint takes its turn.
	_ = s.Checkpoint(bg)
	if err := s.Update(bg, func(tx revoke.Tx) error { return tx.Put(bg, []revoke.Record{b}) }); err == nil {
		t.Error("Update after the deletion of an applied segment failed to be made durable succeeded")
	}
	want(t, s, a)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(after) == 0 || after[len(after)-1] != 0 {
		t.Errorf("segments left at each directory sync after the failure: %v, want a last one with none", after)
	}
	mu.Unlock()
	s = reopen(t, path)
	want(t, s, a)
}
