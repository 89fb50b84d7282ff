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
// whatever grant, expiry or sequence number either has.
type ltx struct {
	tree *tx
	snap snapshot
	ws   *writeSet
}

var _ revoke.Tx = (*ltx)(nil)

// errStop ends an iteration of the tree early; it never leaves ltx.
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

// Get returns the newest layer's record of id.
func (t *ltx) Get(ctx context.Context, id revoke.ID) (revoke.Record, bool, error) {
	if c, ok := t.lookup(id); ok {
		if c.deleted {
			return revoke.Record{}, false, nil
		}
		return c.rec, true, nil
	}
	return t.tree.Get(ctx, id)
}

func (t *ltx) writable(op string) error {
	if t.ws == nil {
		return fmt.Errorf("bolt: %s in a read-only transaction", op)
	}
	return nil
}

// Put records rec in the transaction's write set, once it encodes.
func (t *ltx) Put(_ context.Context, rec revoke.Record) error {
	if err := t.writable("Put"); err != nil {
		return err
	}
	if _, err := encodeRecord(nil, rec); err != nil {
		return err
	}
	t.ws.set(rec.ID, change{rec: rec})
	return nil
}

// Delete records the deletion of id in the transaction's write set.
func (t *ltx) Delete(ctx context.Context, id revoke.ID) error {
	if err := t.writable("Delete"); err != nil {
		return err
	}
	if _, found, err := t.Get(ctx, id); err != nil || !found {
		return err
	}
	t.ws.set(id, change{deleted: true})
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

// Grant calls fn for the tree's records of grant that no layer shadows,
// then for the layers' records of grant.
func (t *ltx) Grant(ctx context.Context, grant revoke.ID, fn func(revoke.Record) error) error {
	err := t.tree.Grant(ctx, grant, func(rec revoke.Record) error {
		if t.shadowed(rec.ID) {
			return nil
		}
		return fn(rec)
	})
	if err != nil {
		return err
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
	c := counter{ctx: ctx, op: "Grant"}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		ch, _ := t.lookup(id)
		if ch.deleted || ch.rec.Grant != grant {
			continue
		}
		if err := c.tick(); err != nil {
			return err
		}
		if err := fn(ch.rec); err != nil {
			return err
		}
	}
	return nil
}
