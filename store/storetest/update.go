package storetest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// testUpdateCancelledWhileFnRuns: an Update whose context ends while fn
// runs, cancelled or past its deadline, returns an error wrapping the
// context's error and keeps nothing fn wrote, even when fn returns nil.
func testUpdateCancelledWhileFnRuns(f *fixture) {
	root := f.rec("root", revoke.ID{})
	f.put(root)
	for _, c := range []struct {
		what string
		want error
		ctx  func() (context.Context, func())
	}{
		{"cancelled", context.Canceled, func() (context.Context, func()) {
			ctx, cancel := context.WithCancel(f.ctx)
			return ctx, cancel
		}},
		{"past its deadline", context.DeadlineExceeded, func() (context.Context, func()) {
			ctx, cancel := context.WithTimeout(f.ctx, 50*time.Millisecond)
			return ctx, func() { <-ctx.Done(); cancel() }
		}},
	} {
		added := f.rec("added-"+c.what, root.ID)
		revoked := root
		ctx, end := c.ctx()
		err := f.s.Update(ctx, func(tx revoke.Tx) error {
			seq, err := tx.NextSeq(ctx)
			if err != nil {
				return err
			}
			revoked.Seq = seq
			if err := tx.Put(ctx, []revoke.Record{added, revoked}); err != nil {
				return err
			}
			end()
			return nil
		})
		end()
		if !errors.Is(err, c.want) {
			f.t.Errorf("Store.Update whose context was %s while fn ran, fn returning nil: err = %v, want an error wrapping %v", c.what, err, c.want)
		}
		f.view(func(tx revoke.Tx) error {
			got, err := tx.Get(f.ctx, []revoke.ID{root.ID, added.ID})
			if err != nil {
				return err
			}
			if err := wantRecords(fmt.Sprintf("Get after an Update whose context was %s while fn ran", c.what), got, []revoke.Record{root}); err != nil {
				f.t.Error(err)
			}
			return nil
		})
	}
}

// testUpdateCancelledWhileWaiting: an Update whose context ends while it
// waits for another Update that holds what it needs either committed
// before the end (it returns nil and its write is kept) or returns an
// error wrapping context.Canceled and keeps nothing, whether it stops
// waiting at once or runs fn once the other Update ends.
func testUpdateCancelledWhileWaiting(f *fixture) {
	root := f.rec("root", revoke.ID{})
	f.put(root)
	held, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- f.s.Update(f.ctx, func(tx revoke.Tx) error {
			_, err := tx.Get(f.ctx, []revoke.ID{root.ID})
			close(held)
			if err != nil {
				return err
			}
			<-release
			return tx.Put(f.ctx, []revoke.Record{f.rec("first", root.ID)})
		})
	}()
	<-held
	ctx, cancel := context.WithCancel(f.ctx)
	waiting := f.rec("waiting", root.ID)
	second := make(chan error, 1)
	go func() {
		second <- f.s.Update(ctx, func(tx revoke.Tx) error {
			if _, err := tx.Get(ctx, []revoke.ID{root.ID}); err != nil {
				return err
			}
			return tx.Put(ctx, []revoke.Record{waiting})
		})
	}()
	time.Sleep(100 * time.Millisecond) // the second Update waits, or has committed
	cancel()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if err := <-first; err != nil {
		f.t.Fatalf("Update: %v", err)
	}
	err := <-second
	f.view(func(tx revoke.Tx) error {
		_, found, gerr := getOne(f.ctx, tx, waiting.ID)
		switch {
		case gerr != nil:
			return gerr
		case err == nil && !found:
			f.t.Error("Store.Update cancelled while it waited for another Update returned nil, but its write was not kept")
		case err != nil && found:
			f.t.Errorf("Store.Update cancelled while it waited for another Update returned %v, but its write was kept", err)
		case err != nil && !errors.Is(err, context.Canceled):
			f.t.Errorf("Store.Update cancelled while it waited for another Update: err = %v, want an error wrapping context.Canceled", err)
		}
		return nil
	})
}

// testNextSeqAbovePutInTx: NextSeq returns a number above the Seq of a
// record Put earlier in its transaction.
func testNextSeqAbovePutInTx(f *fixture) {
	const high = 1 << 40
	rec := f.rec("imported", revoke.ID{})
	rec.Seq = high
	f.update(func(tx revoke.Tx) error {
		if err := tx.Put(f.ctx, []revoke.Record{rec}); err != nil {
			return err
		}
		seq, err := tx.NextSeq(f.ctx)
		if err != nil {
			return fmt.Errorf("NextSeq: %w", err)
		}
		if seq <= high {
			f.t.Errorf("NextSeq = %d after a Put in its transaction of a record at Seq %d: it must be above every Seq Put earlier in the transaction", seq, uint64(high))
		}
		return nil
	})
}

// testGetValuesOutliveTx: the records a transaction returned stay as they
// were read after it ends, while later transactions replace, delete and
// read them.
func testGetValuesOutliveTx(f *fixture) {
	var recs []revoke.Record
	for i := range 20 {
		rec := withOwners(f.rec(fmt.Sprintf("r%d", i), revoke.ID{}), fmt.Sprintf("client-%d", i), fmt.Sprintf("subject-%d", i))
		rec.Status = revoke.StatusRef{List: uint64(i), Index: uint32(i)}
		recs = append(recs, rec)
	}
	f.put(recs...)
	var viewed, updated []revoke.Record
	f.view(func(tx revoke.Tx) (err error) {
		viewed, err = tx.Get(f.ctx, ids(recs))
		return err
	})
	f.update(func(tx revoke.Tx) (err error) {
		updated, err = tx.Scan(f.ctx, revoke.ID{}, 100)
		return err
	})
	for round := range 5 {
		changed := make([]revoke.Record, len(recs))
		for i, rec := range recs {
			rec.ClientID, rec.Subject = fmt.Sprintf("other-client-%d-%d", round, i), fmt.Sprintf("other-subject-%d-%d", round, i)
			rec.Seq, rec.ExpiresAt = uint64(round+1), f.now.Add(time.Duration(round)*time.Minute)
			changed[i] = rec
		}
		f.update(func(tx revoke.Tx) error { return tx.Delete(f.ctx, ids(recs)) })
		f.put(changed...)
		f.view(func(tx revoke.Tx) error {
			got, err := tx.Get(f.ctx, ids(recs))
			if err == nil {
				err = wantRecords("Get of records replaced", got, changed)
			}
			return err
		})
	}
	if err := errors.Join(wantRecords("records a View's Get returned, after the View ended and later Updates", viewed, recs),
		wantRecords("records an Update's Scan returned, after the Update committed and later Updates", updated, recs)); err != nil {
		f.t.Error(err)
	}
}
