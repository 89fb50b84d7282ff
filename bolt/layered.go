package bolt

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/sdkauth/revocation/revoke"
)

// ltx is a revoke.Tx over layers, newest first: the transaction's own
// writes (ws, nil in a View), the committed changes of the journal not yet
// in the tree (snap), and the tree, read through a bbolt read transaction.
// A record in a newer layer shadows the tree's record of the same ID,
// whatever expiry or sequence number either has.
type ltx struct {
	tree *tx
	snap snapshot
	ws   *writeSet
}

var _ revoke.Tx = (*ltx)(nil)

// errStop ends an iteration early; it never leaves the package.
var errStop = errors.New("bolt: stop")

// lookup returns the change of id in the layers above the tree.
func (t *ltx) lookup(id revoke.ID) (change, bool) {
	if t.ws != nil {
		if c, ok := t.ws.m[id]; ok {
			return c, true
		}
	}
	return t.snap.lookup(id)
}

// shadowed reports whether a layer above the tree holds id.
func (t *ltx) shadowed(id revoke.ID) bool {
	_, ok := t.lookup(id)
	return ok
}

// records returns the records of the layers above the tree that keep
// reports, in no particular order.
func (t *ltx) records(keep func(revoke.Record) bool) []revoke.Record {
	var out []revoke.Record
	t.snap.each(func(id revoke.ID, c change) {
		if t.ws != nil {
			if _, ok := t.ws.m[id]; ok {
				return // shadowed by the transaction's own write
			}
		}
		if !c.deleted && keep(c.rec) {
			out = append(out, c.rec)
		}
	})
	if t.ws != nil {
		for _, c := range t.ws.m {
			if !c.deleted && keep(c.rec) {
				out = append(out, c.rec)
			}
		}
	}
	return out
}

// get returns the newest layer's record of id.
func (t *ltx) get(id revoke.ID) (revoke.Record, bool, error) {
	if c, ok := t.lookup(id); ok {
		return c.rec, !c.deleted, nil
	}
	rec, _, found, err := t.tree.get(id)
	return rec, found, err
}

// Get returns the records of ids the transaction sees, each once.
func (t *ltx) Get(_ context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	return getEach(ids, t.get)
}

func (t *ltx) writable(op string) error {
	if t.ws == nil {
		return fmt.Errorf("bolt: %s in a read-only transaction", op)
	}
	return nil
}

// Put records recs in the transaction's write set, once each encodes.
func (t *ltx) Put(_ context.Context, recs []revoke.Record) error {
	if err := t.writable("Put"); err != nil {
		return err
	}
	for _, rec := range recs {
		if _, err := encodeRecord(nil, rec); err != nil {
			return err
		}
		t.ws.set(rec.ID, change{rec: rec})
	}
	return nil
}

// Delete records the deletion of the records of ids the transaction sees
// in its write set.
func (t *ltx) Delete(_ context.Context, ids []revoke.ID) error {
	if err := t.writable("Delete"); err != nil {
		return err
	}
	for _, id := range ids {
		_, found, err := t.get(id)
		if err != nil {
			return fmt.Errorf("bolt: Delete: %w", err)
		}
		if found {
			t.ws.set(id, change{deleted: true})
		}
	}
	return nil
}

// NextSeq returns one more than the highest of the tree's sequence number
// (see tx.NextSeq), the journal's and the transaction's.
func (t *ltx) NextSeq(context.Context) (uint64, error) {
	if err := t.writable("NextSeq"); err != nil {
		return 0, err
	}
	cur, err := t.tree.seqFloor()
	if err != nil {
		return 0, err
	}
	// The snapshot's layers, not the overlay's: a frozen layer dropped
	// since the snapshot is in the tree, but not in this transaction's
	// read of it.
	cur = max(cur, t.snap.seq(), t.ws.seq)
	if cur >= math.MaxInt64 {
		return 0, fmt.Errorf("bolt: NextSeq: the revocation sequence is exhausted")
	}
	cur++
	t.ws.seq = cur
	return cur, nil
}

// RevokeGrants records in the write set, with Seq set to seq, the live
// records of grants the transaction sees.
func (t *ltx) RevokeGrants(ctx context.Context, seq uint64, grants []revoke.ID) ([]revoke.Revocation, error) {
	if err := t.writable("RevokeGrants"); err != nil {
		return nil, err
	}
	var revs []revoke.Revocation
	done := make(map[revoke.ID]struct{}, len(grants))
	for _, g := range grants {
		if _, dup := done[g]; dup {
			continue
		}
		done[g] = struct{}{}
		members, err := t.members(ctx, g)
		if err != nil {
			return nil, fmt.Errorf("bolt: RevokeGrants: %w", err)
		}
		for _, rec := range members {
			if rec.Revoked() {
				continue
			}
			rec.Seq = seq
			t.ws.set(rec.ID, change{rec: rec})
			revs = append(revs, rec.Revocation())
		}
	}
	t.ws.seq = max(t.ws.seq, seq) // as a Put of a record at seq would
	return revs, nil
}

// members returns the records of grant the transaction sees: the tree's
// that no layer shadows, then the layers'.
func (t *ltx) members(ctx context.Context, grant revoke.ID) ([]revoke.Record, error) {
	var recs []revoke.Record
	_, err := t.tree.eachInGrant(ctx, grant, func(rec revoke.Record) error {
		if !t.shadowed(rec.ID) {
			recs = append(recs, rec)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The layers' records of grant: those the transaction put in it,
	// and those the journal's layers did, as each is now.
	var ids []revoke.ID
	if t.ws != nil {
		for id, c := range t.ws.m {
			if !c.deleted && c.rec.Grant == grant {
				ids = append(ids, id)
			}
		}
	}
	ids = append(ids, t.snap.inGrant(grant)...)
	seen := make(map[revoke.ID]bool, len(ids))
	n := counter{ctx: ctx, op: "RevokeGrants"}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		if err := n.tick(); err != nil {
			return nil, err
		}
		if c, _ := t.lookup(id); !c.deleted && c.rec.Grant == grant { // not deleted and put again elsewhere
			recs = append(recs, c.rec)
		}
	}
	return recs, nil
}
