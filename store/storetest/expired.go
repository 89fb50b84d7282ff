package storetest

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// testExpiredCutoff: of records expiring 1 ns before, at and 1 ns after
// the cutoff, Expired reports the first alone: strictly before, to the
// nanosecond.
func testExpiredCutoff(f *fixture) {
	cut := time.Date(2031, 3, 4, 5, 6, 7, 123456789, time.UTC)
	var recs []revoke.Record
	for i, at := range []time.Time{cut.Add(-time.Nanosecond), cut, cut.Add(time.Nanosecond), cut.Add(time.Hour)} {
		rec := f.rec(fmt.Sprintf("boundary-%d", i), revoke.ID{})
		rec.ExpiresAt = at
		recs = append(recs, rec)
	}
	f.put(recs...)
	f.view(func(tx revoke.Tx) error {
		got, err := tx.Expired(f.ctx, cut, 100)
		if err != nil {
			return err
		}
		for _, rec := range recs {
			reported := slices.Contains(got, rec.ID)
			switch d := rec.ExpiresAt.Sub(cut); {
			case d == 0 && reported:
				f.t.Errorf("Tx.Expired: a record whose ExpiresAt equals the cutoff was reported; the contract says strictly before")
			case d > 0 && reported:
				f.t.Errorf("Tx.Expired: a record whose ExpiresAt is %v after the cutoff was reported; the contract says strictly before", d)
			case d < 0 && !reported:
				f.t.Errorf("Tx.Expired: a record whose ExpiresAt is %v before the cutoff was not reported (times count to the nanosecond)", -d)
			}
		}
		return nil
	})
}

// testExpiredLimit: Expired reports at most limit of the expired records,
// each once, none unexpired, and none for a limit <= 0.
func testExpiredLimit(f *fixture) {
	var recs, expired []revoke.Record
	for i := range 12 {
		rec := f.rec(fmt.Sprintf("r%d", i), revoke.ID{})
		if i%3 != 0 {
			rec.ExpiresAt = f.now.Add(-time.Duration(i) * time.Minute)
			rec.Seq = uint64(i % 2) // revoked or not, expired records are reported
			expired = append(expired, rec)
		}
		recs = append(recs, rec)
	}
	f.put(recs...)
	n := len(expired)
	f.view(func(tx revoke.Tx) error {
		for _, limit := range []int{-1, 0, 1, n - 1, n, n + 1, 1000} {
			got, err := tx.Expired(f.ctx, f.now, limit)
			if err != nil {
				return err
			}
			if want := max(0, min(limit, n)); len(got) != want {
				f.t.Errorf("Tx.Expired with limit %d reported %d of %d expired records, want %d: at most limit, and none for a limit <= 0", limit, len(got), n, want)
			}
			if err := wantSubset(fmt.Sprintf("Tx.Expired with limit %d", limit), got, ids(expired)); err != nil {
				f.t.Error(err)
			}
		}
		return nil
	})
}

// wantSubset checks that got holds IDs of want only, each once.
func wantSubset(what string, got, want []revoke.ID) error {
	seen := make(map[revoke.ID]bool, len(got))
	for _, id := range got {
		if seen[id] || !slices.Contains(want, id) {
			return fmt.Errorf("%s reported %x, twice or not one of the %d it may report", what, id[:4], len(want))
		}
		seen[id] = true
	}
	return nil
}

// testExpiredOwnWrites: Expired in an Update sees the records its Puts
// added or moved past the cutoff and those its Deletes removed.
func testExpiredOwnWrites(f *fixture) {
	gone, renewed, kept := f.rec("gone", revoke.ID{}), f.rec("renewed", revoke.ID{}), f.rec("kept", revoke.ID{})
	for _, rec := range []*revoke.Record{&gone, &renewed, &kept} {
		rec.ExpiresAt = f.now.Add(-time.Hour)
	}
	f.put(gone, renewed, kept)
	added, shortened := f.rec("added", revoke.ID{}), f.rec("shortened", revoke.ID{})
	added.ExpiresAt = f.now.Add(-time.Minute)
	f.put(shortened)
	shortened.ExpiresAt = f.now.Add(-time.Second)
	renewed.ExpiresAt = f.now.Add(time.Hour)
	f.inAndAfter(func(tx revoke.Tx) error {
		if _, err := tx.Expired(f.ctx, f.now, 10); err != nil {
			return err // read first: a store must not answer the later reads from this one
		}
		return errors.Join(tx.Put(f.ctx, []revoke.Record{added, shortened, renewed}), tx.Delete(f.ctx, []revoke.ID{gone.ID}))
	}, func(tx revoke.Tx, when string) error {
		got, err := tx.Expired(f.ctx, f.now, 10)
		if err != nil {
			return err
		}
		return wantIDs("Expired after Puts and a Delete, "+when, got, []revoke.ID{kept.ID, added.ID, shortened.ID})
	})
}
