package storetest

import (
	"context"
	"fmt"

	"github.com/sdkauth/revocation/revoke"
)

// getOne reads the record of id through tx: Get of one ID.
func getOne(ctx context.Context, tx revoke.Tx, id revoke.ID) (revoke.Record, bool, error) {
	recs, err := tx.Get(ctx, []revoke.ID{id})
	switch {
	case err != nil:
		return revoke.Record{}, false, err
	case len(recs) == 0:
		return revoke.Record{}, false, nil
	case len(recs) > 1 || recs[0].ID != id:
		return revoke.Record{}, false, fmt.Errorf("Tx.Get of one ID returned %d records, or another ID's", len(recs))
	}
	return recs[0], true, nil
}

// scanPage is the page the helpers below read a store with.
const scanPage = 100

// scanAll reads every record tx sees, in Scan pages.
func scanAll(ctx context.Context, tx revoke.Tx) ([]revoke.Record, error) {
	var all []revoke.Record
	var after revoke.ID
	for {
		page, err := tx.Scan(ctx, after, scanPage)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < scanPage {
			return all, nil
		}
		after = page[len(page)-1].ID
	}
}

// members returns the records of grant that tx sees, in ID order.
func members(ctx context.Context, tx revoke.Tx, grant revoke.ID) ([]revoke.Record, error) {
	all, err := scanAll(ctx, tx)
	if err != nil {
		return nil, err
	}
	var recs []revoke.Record
	for _, rec := range all {
		if rec.Grant == grant {
			recs = append(recs, rec)
		}
	}
	return recs, nil
}

// allGrantsOf reads every grant of an owner through tx, in GrantsOf pages.
func allGrantsOf(ctx context.Context, tx revoke.Tx, by revoke.Owner, key string) ([]revoke.ID, error) {
	var all []revoke.ID
	var after revoke.ID
	for {
		page, err := tx.GrantsOf(ctx, by, key, after, scanPage)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < scanPage {
			return all, nil
		}
		after = page[len(page)-1]
	}
}

// indexes is what a transaction's reads report of some records: Get of
// their IDs, a whole Scan, Expired before the fixture's now, and every
// revocation (RevokedSince 0).
type indexes struct {
	got, scanned []revoke.Record
	expired      []revoke.ID
	revs         []revoke.Revocation
}

// readIndexes reads indexes in tx, Get of ids first.
func readIndexes(f *fixture, tx revoke.Tx, ids []revoke.ID) (ix indexes, err error) {
	if ix.got, err = tx.Get(f.ctx, ids); err != nil {
		return ix, err
	}
	if ix.scanned, err = scanAll(f.ctx, tx); err != nil {
		return ix, err
	}
	if ix.expired, err = tx.Expired(f.ctx, f.now, 10); err != nil {
		return ix, err
	}
	ix.revs, err = revokedSinceAll(f.ctx, tx, 0)
	return ix, err
}
