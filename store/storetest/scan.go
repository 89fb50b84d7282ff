package storetest

import (
	"errors"
	"fmt"
	"slices"

	"github.com/sdkauth/revocation/revoke"
)

// testScanPaging: Scan returns at most limit records, none for a limit
// <= 0, in ascending ID order, strictly after its after (a stored ID or
// not), every field as Put, so that pages of any size read each record
// once.
func testScanPaging(f *fixture) {
	var recs []revoke.Record
	for g := range 8 {
		root := f.rec(fmt.Sprintf("g%d", g), revoke.ID{})
		recs = append(recs, root)
		for a := range 3 {
			rec := f.rec(fmt.Sprintf("g%d-%d", g, a), root.ID)
			rec.Seq, rec.Status = uint64(a), revoke.StatusRef{List: uint64(g), Index: uint32(a)}
			recs = append(recs, rec)
		}
	}
	f.put(recs...)
	slices.SortFunc(recs, func(a, b revoke.Record) int { return compareIDs(a.ID, b.ID) })
	f.view(func(tx revoke.Tx) error {
		for _, limit := range []int{1, 5, len(recs), 100} {
			if err := checkScanPages(f, tx, limit, recs); err != nil {
				return err
			}
		}
		if err := checkScanAfters(f, tx, recs); err != nil {
			return err
		}
		for _, limit := range []int{0, -1} {
			if got, err := tx.Scan(f.ctx, revoke.ID{}, limit); err != nil || len(got) != 0 {
				return fmt.Errorf("Tx.Scan with limit %d = %d records (err %v), want none", limit, len(got), err)
			}
		}
		return nil
	})
}

// checkScanAfters checks that Scan after each ID of want, and after an ID
// just above it, reports the records above it, want in ascending ID order.
func checkScanAfters(f *fixture, tx revoke.Tx, want []revoke.Record) error {
	for i, rec := range want {
		for _, after := range aftersOf(rec.ID) {
			got, err := tx.Scan(f.ctx, after, 100)
			if err != nil {
				return err
			}
			if !slices.Equal(ids(got), ids(want[i+1:])) {
				return fmt.Errorf("Tx.Scan after the %d-th record's ID (or just above it) = %d records, want the %d above it: after is exclusive", i+1, len(got), len(want)-i-1)
			}
		}
	}
	return nil
}

// aftersOf returns id and, unless its last byte is 0xff, the ID one above
// it, which no record holds but for a collision of SHA-256.
func aftersOf(id revoke.ID) []revoke.ID {
	if id[len(id)-1] == 0xff {
		return []revoke.ID{id}
	}
	above := id
	above[len(above)-1]++
	return []revoke.ID{id, above}
}

// checkScanPages reads the store in Scan pages of limit records and checks
// them against want, in ascending ID order.
func checkScanPages(f *fixture, tx revoke.Tx, limit int, want []revoke.Record) error {
	var paged []revoke.Record
	var after revoke.ID
	for page := 0; page <= len(want); page++ {
		got, err := tx.Scan(f.ctx, after, limit)
		if err != nil {
			return fmt.Errorf("Tx.Scan: %w", err)
		}
		if len(got) > limit {
			return fmt.Errorf("Tx.Scan with limit %d returned %d records", limit, len(got))
		}
		paged = append(paged, got...)
		if len(got) < limit {
			break
		}
		after = got[len(got)-1].ID
	}
	if !slices.IsSortedFunc(paged, func(a, b revoke.Record) int { return compareIDs(a.ID, b.ID) }) {
		return fmt.Errorf("Tx.Scan in pages of %d: records not in ascending ID order", limit)
	}
	return wantRecords(fmt.Sprintf("Scan in pages of %d", limit), paged, want)
}

// testScanOwnWrites: Scan in an Update sees its Puts and Deletes.
func testScanOwnWrites(f *fixture) {
	kept, gone, replaced := f.rec("kept", revoke.ID{}), f.rec("gone", revoke.ID{}), f.rec("replaced", revoke.ID{})
	f.put(kept, gone, replaced)
	added := f.rec("added", revoke.ID{})
	replaced.Seq = 4
	f.inAndAfter(func(tx revoke.Tx) error {
		if _, err := tx.Scan(f.ctx, revoke.ID{}, 10); err != nil {
			return err // read first: a store must not answer the later reads from this one
		}
		if err := tx.Put(f.ctx, []revoke.Record{added, replaced}); err != nil {
			return err
		}
		return tx.Delete(f.ctx, []revoke.ID{gone.ID})
	}, func(tx revoke.Tx, when string) error {
		got, err := tx.Scan(f.ctx, revoke.ID{}, 10)
		if err != nil {
			return err
		}
		return errors.Join(wantRecords("Scan after Puts and a Delete, "+when, got, []revoke.Record{kept, added, replaced}))
	})
}
