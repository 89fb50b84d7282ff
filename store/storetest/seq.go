package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/sdkauth/revocation/revoke"
)

// testNextSeqIncreasing: NextSeq returns numbers above those it returned
// before, in its transaction and in those committed before it, and above
// the Seq RevokeGrants wrote.
func testNextSeqIncreasing(f *fixture) {
	root := f.rec("root", revoke.ID{})
	f.put(root)
	var last uint64
	next := func(tx revoke.Tx, what string) error {
		seq, err := tx.NextSeq(f.ctx)
		if err != nil {
			return fmt.Errorf("NextSeq: %w", err)
		}
		if seq <= last {
			return fmt.Errorf("NextSeq = %d %s, after %d", seq, what, last)
		}
		last = seq
		return nil
	}
	for round := range 3 {
		f.update(func(tx revoke.Tx) error {
			return errors.Join(next(tx, fmt.Sprintf("first of transaction %d", round)), next(tx, "second of its transaction"))
		})
	}
	f.update(func(tx revoke.Tx) error {
		if err := next(tx, "for RevokeGrants"); err != nil {
			return err
		}
		_, err := tx.RevokeGrants(f.ctx, last, []revoke.ID{root.ID})
		return err
	})
	f.update(func(tx revoke.Tx) error { return next(tx, "after a commit of RevokeGrants") })
}

// testNextSeqAboveImported: after the commit of records Put with a Seq
// given (an import), NextSeq returns numbers above every one of them.
func testNextSeqAboveImported(f *fixture) {
	const high = 1 << 40
	imported := []revoke.Record{f.rec("low", revoke.ID{}), f.rec("high", revoke.ID{}), f.rec("mid", revoke.ID{})}
	imported[0].Seq, imported[1].Seq, imported[2].Seq = 3, high, 1000
	f.put(imported...)
	for range 2 {
		f.update(func(tx revoke.Tx) error {
			seq, err := tx.NextSeq(f.ctx)
			if err != nil {
				return fmt.Errorf("NextSeq: %w", err)
			}
			if seq <= high {
				return fmt.Errorf("NextSeq = %d after the commit of a record Put at Seq %d: it must be above every stored Seq", seq, uint64(high))
			}
			return nil
		})
	}
}

// testRevokedSinceOrder: RevokedSince(seq) reports the entry of every
// revoked record whose Seq is above seq, strictly, in ascending Seq order,
// and no live record, whatever the order the records were Put in.
func testRevokedSinceOrder(f *fixture) {
	var recs []revoke.Record
	for i := range 30 {
		rec := f.rec(fmt.Sprintf("r%d", i), revoke.ID{})
		rec.Seq = uint64(i % 10 * (i % 3)) // ties, and live records (Seq 0)
		rec.Status = revoke.StatusRef{List: uint64(i), Index: uint32(i)}
		recs = append(recs, rec)
	}
	rand.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	f.put(recs[:15]...)
	f.put(recs[15:]...)
	f.view(func(tx revoke.Tx) error {
		for _, since := range []uint64{0, 1, 6, 9, 17, 18} {
			got, err := revokedSinceAll(f.ctx, tx, since)
			if err != nil {
				return err
			}
			var want []revoke.Record
			for _, rec := range recs {
				if rec.Seq > since {
					want = append(want, rec)
				}
			}
			if err := errors.Join(wantEntries(fmt.Sprintf("RevokedSince(%d)", since), got, want), wantAscending(since, got)); err != nil {
				return err
			}
		}
		return nil
	})
}

// wantAscending checks that revs, from RevokedSince(since), are in
// ascending Seq order.
func wantAscending(since uint64, revs []revoke.Revocation) error {
	for i := 1; i < len(revs); i++ {
		if revs[i].Seq < revs[i-1].Seq {
			return fmt.Errorf("RevokedSince(%d) reported Seq %d after Seq %d: not in ascending order", since, revs[i].Seq, revs[i-1].Seq)
		}
	}
	return nil
}

// testRevokedSinceStops: an error of fn stops RevokedSince, which returns
// it.
func testRevokedSinceStops(f *fixture) {
	var recs []revoke.Record
	for i := range 5 {
		rec := f.rec(fmt.Sprintf("r%d", i), revoke.ID{})
		rec.Seq = uint64(i + 1)
		recs = append(recs, rec)
	}
	f.put(recs...)
	stop := errors.New("stop")
	calls := 0
	f.view(func(tx revoke.Tx) error {
		err := tx.RevokedSince(f.ctx, 0, func(revoke.Revocation) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			return fmt.Errorf("RevokedSince whose fn failed at its first call: err = %v after %d calls, want fn's error after 1", err, calls)
		}
		return nil
	})
}
