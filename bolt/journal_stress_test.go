package bolt

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// TestJournalConcurrentSnapshots runs Updates, Views and Checkpoints
// together while the applier writes tiny batches, so that transactions
// start before, during and after applications. Every Update writes
// version v to the records a and b, inserts the record of v and deletes
// the record of v-1, and takes a sequence number; every View must see one
// version throughout (a and b agree, exactly one versioned record, and it
// is v's), and the numbers must rise.
func TestJournalConcurrentSnapshots(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "revocation.db"), WithNoSync(), withApply(4, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put(t, s, stressA, stressB, versioned(0))
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	run := func(fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(); err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		}()
	}
	run(func() error {
		defer done.Store(true)
		return stressUpdates(s, 300)
	})
	view := func() error {
		for !done.Load() {
			if err := s.View(bg, stressView); err != nil {
				return err
			}
		}
		return nil
	}
	for range 3 {
		run(view)
	}
	run(func() error {
		for !done.Load() {
			if err := s.Checkpoint(bg); err != nil {
				return err
			}
		}
		return nil
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// The records of TestJournalConcurrentSnapshots: a and b carry the
// version in their Check, and grant v holds the versioned record alone.
var stressA, stressB = rec("a", "a"), rec("b", "a")

func versioned(v uint32) revoke.Record {
	r := rec(fmt.Sprint("v", v), "v")
	r.Check = v
	return r
}

// stressUpdates runs the Updates of versions 1 to n, and checks that their
// sequence numbers rise.
func stressUpdates(s *Store, n uint32) error {
	var last uint64
	for v := uint32(1); v <= n; v++ {
		var seq uint64
		err := s.Update(bg, func(tx revoke.Tx) error {
			ga, _, err := getOne(tx, stressA.ID)
			if err != nil || ga.Check != v-1 {
				return fmt.Errorf("Update %d reads a's version %d (%v)", v, ga.Check, err)
			}
			if seq, err = tx.NextSeq(bg); err != nil {
				return err
			}
			na, nb := stressA, stressB
			na.Check, nb.Check = v, v
			return errors.Join(tx.Put(bg, []revoke.Record{na, nb, versioned(v)}), tx.Delete(bg, []revoke.ID{versioned(v - 1).ID}))
		})
		if err != nil {
			return err
		}
		if seq <= last {
			return fmt.Errorf("NextSeq %d after %d", seq, last)
		}
		last = seq
	}
	return nil
}

// stressView checks that tx sees one version throughout.
func stressView(tx revoke.Tx) error {
	ga, _, err1 := getOne(tx, stressA.ID)
	gb, _, err2 := getOne(tx, stressB.ID)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	if ga.Check != gb.Check {
		return fmt.Errorf("a has version %d, b %d", ga.Check, gb.Check)
	}
	ms, err := members(tx, revoke.TokenID("v"))
	if err != nil {
		return err
	}
	all, err := tx.Scan(bg, revoke.ID{}, 1000)
	if err != nil {
		return err
	}
	var found, scanned []uint32
	for _, r := range ms {
		found = append(found, r.Check)
	}
	for _, r := range all {
		if r.Grant == revoke.TokenID("v") {
			scanned = append(scanned, r.Check)
		}
	}
	if len(found) != 1 || found[0] != ga.Check || len(scanned) != 1 || scanned[0] != ga.Check {
		return fmt.Errorf("version %d: the grant holds %v, Scan %v", ga.Check, found, scanned)
	}
	return nil
}
