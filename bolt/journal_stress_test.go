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
	a, b := rec("a", "a"), rec("b", "a")
	versioned := func(v uint32) revoke.Record {
		r := rec(fmt.Sprint("v", v), "v")
		r.Check = v
		return r
	}
	put(t, s, a, b, versioned(0))
	const updates = 300
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer done.Store(true)
		var last uint64
		for v := uint32(1); v <= updates; v++ {
			var seq uint64
			err := s.Update(bg, func(tx revoke.Tx) error {
				ga, _, err := tx.Get(bg, a.ID)
				if err != nil || ga.Check != v-1 {
					return fmt.Errorf("Update %d reads a's version %d (%v)", v, ga.Check, err)
				}
				if seq, err = tx.NextSeq(bg); err != nil {
					return err
				}
				na, nb := a, b
				na.Check, nb.Check = v, v
				return errors.Join(tx.Put(bg, na), tx.Put(bg, nb), tx.Put(bg, versioned(v)), tx.Delete(bg, versioned(v-1).ID))
			})
			if err != nil {
				report(err)
				return
			}
			if seq <= last {
				report(fmt.Errorf("NextSeq %d after %d", seq, last))
				return
			}
			last = seq
		}
	}()
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				err := s.View(bg, func(tx revoke.Tx) error {
					ga, _, err1 := tx.Get(bg, a.ID)
					gb, _, err2 := tx.Get(bg, b.ID)
					if err := errors.Join(err1, err2); err != nil {
						return err
					}
					if ga.Check != gb.Check {
						return fmt.Errorf("a has version %d, b %d", ga.Check, gb.Check)
					}
					var found []uint32
					if err := tx.Grant(bg, revoke.TokenID("v"), func(r revoke.Record) error { found = append(found, r.Check); return nil }); err != nil {
						return err
					}
					var scanned []uint32
					if err := tx.Scan(bg, revoke.ID{}, 1000, func(r revoke.Record) error {
						if r.Grant == revoke.TokenID("v") {
							scanned = append(scanned, r.Check)
						}
						return nil
					}); err != nil {
						return err
					}
					if len(found) != 1 || found[0] != ga.Check || len(scanned) != 1 || scanned[0] != ga.Check {
						return fmt.Errorf("version %d: Grant reports %v, Scan %v", ga.Check, found, scanned)
					}
					return nil
				})
				if err != nil {
					report(err)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !done.Load() {
			if err := s.Checkpoint(bg); err != nil {
				report(err)
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
