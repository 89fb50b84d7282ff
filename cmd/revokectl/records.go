package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/sdkauth/revocation/revoke"
)

// getRecord reads the record of id in tx.
func getRecord(ctx context.Context, tx revoke.Tx, id revoke.ID) (revoke.Record, bool, error) {
	recs, err := tx.Get(ctx, []revoke.ID{id})
	if err != nil || len(recs) == 0 {
		return revoke.Record{}, false, err
	}
	return recs[0], true, nil
}

// errGrant reports a record that would break the grant invariants of the
// store contract (see revoke.Store): a record never moves to another grant,
// and every record of a grant has the grant's client and subject.
var errGrant = errors.New("the record breaks its grant")

// grantCheck checks records against the grant invariants: against the
// stored record of the same ID, the stored record that started the grant,
// and the records checked before it.
type grantCheck struct {
	stored map[revoke.ID]revoke.Record // what the store holds of the IDs and grants read
	owners map[revoke.ID]revoke.Record // per grant: the first record seen of it
}

// readGrants reads, in one Get, the stored records of the batch's IDs and
// of their grants.
func readGrants(ctx context.Context, tx revoke.Tx, batch []revoke.Record) (grantCheck, error) {
	ids := make([]revoke.ID, 0, 2*len(batch))
	for _, rec := range batch {
		ids = append(ids, rec.ID, rec.Grant)
	}
	recs, err := tx.Get(ctx, ids)
	if err != nil {
		return grantCheck{}, err
	}
	g := grantCheck{stored: make(map[revoke.ID]revoke.Record, len(recs)), owners: make(map[revoke.ID]revoke.Record)}
	for _, rec := range recs {
		g.stored[rec.ID] = rec
		if rec.ID == rec.Grant {
			g.owners[rec.Grant] = rec
		}
	}
	return g, nil
}

// check returns an error wrapping errGrant if rec breaks the invariants,
// and otherwise counts it among the grant's records.
func (g grantCheck) check(rec revoke.Record) error {
	if old, ok := g.stored[rec.ID]; ok && old.Grant != rec.Grant {
		return fmt.Errorf("%w: it is stored under grant %s, not %s", errGrant, old.Grant, rec.Grant)
	}
	first, ok := g.owners[rec.Grant]
	if !ok {
		g.owners[rec.Grant] = rec
		return nil
	}
	if first.ClientID != rec.ClientID || first.Subject != rec.Subject {
		return fmt.Errorf("%w: grant %s is of client %q and subject %q, the record of %q and %q",
			errGrant, rec.Grant, first.ClientID, first.Subject, rec.ClientID, rec.Subject)
	}
	return nil
}
