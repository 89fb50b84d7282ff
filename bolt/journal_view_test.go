package bolt

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/sdkauth/revocation/revoke"
)

// TestViewSnapshotOutlivesApplication: a View that took its snapshot of
// the journal's layers, then was held up before its bbolt read
// transaction while a later commit was published and the applier wrote
// the layer to the tree, sees the store as of one moment: that commit
// whole or not at all.
func TestViewSnapshotOutlivesApplication(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var armed atomic.Bool
	hook := func() {
		if armed.CompareAndSwap(true, false) {
			close(entered)
			<-release
		}
	}
	onBegin(t, hook)
	s, err := Open(filepath.Join(t.TempDir(), "revocation.db"), never)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	x, y := rec("x", "x"), rec("y", "y")
	put(t, s, x)
	armed.Store(true)
	view := make(chan error, 1)
	go func() {
		view <- s.View(bg, func(tx revoke.Tx) error {
			gx, _, err := getOne(tx, x.ID)
			if err != nil {
				return err
			}
			_, yFound, err := getOne(tx, y.ID)
			if err != nil {
				return err
			}
			if (gx.Seq != 0) != yFound {
				return fmt.Errorf("x has Seq %d and y found=%v: half of one commit", gx.Seq, yFound)
			}
			return nil
		})
	}()
	<-entered
	x2 := x
	x2.Seq = 5
	put(t, s, x2, y) // one commit, after the View's snapshot
	if err := s.Checkpoint(bg); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-view; err != nil {
		t.Error(err)
	}
}
