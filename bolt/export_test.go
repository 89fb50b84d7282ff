package bolt

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
	bbolt "go.etcd.io/bbolt"
)

// withApply sets the applier's batch: n changes or d.
func withApply(n int, d time.Duration) Option {
	return func(o *options) { o.applyBatch, o.applyInterval = n, d }
}

// never keeps the applier from running (but Checkpoint and Close apply).
var never = withApply(1<<30, time.Hour)

// onSyncFile runs hook before each sync of a journal segment's data until
// the test ends; an error from hook fails the sync.
func onSyncFile(t *testing.T, hook func() error) {
	orig := syncFile
	syncFile = func(f *os.File) error {
		if err := hook(); err != nil {
			return err
		}
		return orig(f)
	}
	t.Cleanup(func() { syncFile = orig })
}

// onSyncDir runs hook, with the number of segments of the store at path
// that exist, before each sync of the journal's directory until the test
// ends; an error from hook fails the sync.
func onSyncDir(t *testing.T, path string, hook func(segments int) error) {
	t.Helper()
	orig := syncDir
	syncDir = func(dir string) error {
		if err := hook(len(segmentFiles(t, path))); err != nil {
			return err
		}
		return orig(dir)
	}
	t.Cleanup(func() { syncDir = orig })
}

// onApply runs hook before each bbolt transaction that writes the journal
// to the tree until the test ends; an error from hook fails it.
func onApply(t *testing.T, hook func() error) {
	orig := updateTree
	updateTree = func(db *bbolt.DB, fn func(*bbolt.Tx) error) error {
		if err := hook(); err != nil {
			return err
		}
		return orig(db, fn)
	}
	t.Cleanup(func() { updateTree = orig })
}

// onBegin runs hook before each bbolt transaction a layered transaction
// begins (after its snapshot of the overlay) until the test ends.
func onBegin(t *testing.T, hook func()) {
	orig := beginTree
	beginTree = func(db *bbolt.DB, writable bool) (*bbolt.Tx, error) {
		hook()
		return orig(db, writable)
	}
	t.Cleanup(func() { beginTree = orig })
}

// watchDirSyncs makes syncDir record, at each call, how many segments of
// the store at path exist, and returns the record.
func watchDirSyncs(t *testing.T, path string) func() []int {
	t.Helper()
	var mu sync.Mutex
	var seen []int
	orig := syncDir
	syncDir = func(dir string) error {
		mu.Lock()
		seen = append(seen, len(segmentFiles(t, path)))
		mu.Unlock()
		return orig(dir)
	}
	t.Cleanup(func() { syncDir = orig })
	return func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), seen...)
	}
}

// members returns the records of grant that tx, of a Store of this
// package, sees.
func members(rtx revoke.Tx, grant revoke.ID) ([]revoke.Record, error) {
	switch t := rtx.(type) {
	case *ltx:
		return t.members(context.Background(), grant)
	case *tx:
		var recs []revoke.Record
		_, err := t.eachInGrant(context.Background(), grant, func(r revoke.Record) error {
			recs = append(recs, r)
			return nil
		})
		return recs, err
	}
	return nil, fmt.Errorf("%T is not a transaction of this package", rtx)
}

// Members returns the records of grant that tx, of a Store of this
// package, sees.
func Members(tx revoke.Tx, grant revoke.ID) ([]revoke.Record, error) { return members(tx, grant) }
