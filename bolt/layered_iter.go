package bolt

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// The ordered iterations of ltx merge the tree's index, skipping the
// records a layer shadows, with the layers' records sorted the same way.
// The layers are bounded (see applyLimitFactor), so sorting them per call
// is cheap beside the calls' own cost.

// RevokedSince calls fn for every revoked record whose Seq is above seq,
// in ascending Seq order.
func (t *ltx) RevokedSince(ctx context.Context, seq uint64, fn func(revoke.Revocation) error) error {
	var pending []revoke.Revocation
	for _, rec := range t.records(func(r revoke.Record) bool { return r.Seq != 0 && r.Seq > seq }) {
		pending = append(pending, rec.Revocation())
	}
	c := counter{ctx: ctx, op: "RevokedSince"}
	return merge(pending, func(a, b revoke.Revocation) int {
		if a.Seq != b.Seq {
			return cmp.Compare(a.Seq, b.Seq)
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	}, func(fn func(revoke.Revocation) error) error {
		return t.tree.RevokedSince(ctx, seq, fn)
	}, unshadowed(t, func(r revoke.Revocation) revoke.ID { return r.ID }), counted(&c, fn))
}

// Expired returns the IDs of at most limit records whose ExpiresAt is
// before before: the layers' first, then the tree's that no layer shadows.
func (t *ltx) Expired(ctx context.Context, before time.Time, limit int) ([]revoke.ID, error) {
	if limit <= 0 {
		return nil, nil
	}
	var ids []revoke.ID
	c := counter{ctx: ctx, op: "Expired"}
	for _, rec := range t.records(func(r revoke.Record) bool { return r.ExpiresAt.Before(before) }) {
		if len(ids) == limit {
			return ids, nil
		}
		if err := c.tick(); err != nil {
			return nil, err
		}
		ids = append(ids, rec.ID)
	}
	err := t.tree.eachExpired(ctx, before, func(id revoke.ID) error {
		if len(ids) == limit {
			return errStop
		}
		if !t.shadowed(id) {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil && err != errStop {
		return nil, err
	}
	return ids, nil
}

// Scan returns at most limit records whose ID is above after, in ascending
// ID order.
func (t *ltx) Scan(ctx context.Context, after revoke.ID, limit int) ([]revoke.Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	pending := t.records(func(r revoke.Record) bool { return bytes.Compare(r.ID[:], after[:]) > 0 })
	var recs []revoke.Record
	c := counter{ctx: ctx, op: "Scan"}
	err := merge(pending, func(a, b revoke.Record) int {
		return bytes.Compare(a.ID[:], b.ID[:])
	}, func(fn func(revoke.Record) error) error {
		return t.tree.eachRecord(ctx, after, fn)
	}, unshadowed(t, recordID), counted(&c, collect(&recs, limit)))
	if err != nil {
		return nil, err
	}
	return recs, nil
}

// GrantsOf returns at most limit grants of the subject or client key above
// after, in ascending order. A grant of the tree's owners index is
// reported only while the transaction sees a record of it: one the layers
// hold, or one of the tree's that no layer shadows.
func (t *ltx) GrantsOf(ctx context.Context, by revoke.Owner, key string, after revoke.ID, limit int) ([]revoke.ID, error) {
	if ok, err := checkOwner(by, key); err != nil || !ok || limit <= 0 {
		return nil, err
	}
	o := owned{by, key}
	layered := map[revoke.ID]bool{}
	var pending []revoke.ID
	for _, rec := range t.records(func(r revoke.Record) bool { return owns(r, o) && bytes.Compare(r.Grant[:], after[:]) > 0 }) {
		if !layered[rec.Grant] {
			layered[rec.Grant] = true
			pending = append(pending, rec.Grant)
		}
	}
	var ids []revoke.ID
	c := counter{ctx: ctx, op: "GrantsOf"}
	err := merge(pending, func(a, b revoke.ID) int { return bytes.Compare(a[:], b[:]) }, func(fn func(revoke.ID) error) error {
		return t.tree.eachOwned(ctx, o, after, fn)
	}, func(g revoke.ID) (bool, error) { return t.treeHolds(ctx, g) }, counted(&c, collect(&ids, limit)))
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// treeHolds reports whether the tree holds a record of grant that no
// layer shadows.
func (t *ltx) treeHolds(ctx context.Context, grant revoke.ID) (bool, error) {
	found := false
	_, err := t.tree.eachInGrant(ctx, grant, func(rec revoke.Record) error {
		if !t.shadowed(rec.ID) {
			found = true
			return errStop
		}
		return nil
	})
	if err == errStop {
		err = nil
	}
	return found, err
}

// merge calls emit, in the order cmp sorts them, for pending, the layers'
// entries, and for the tree's entries, which tree reads in that order,
// that keep accepts. Of a tree entry and a pending one equal by cmp, the
// pending one alone is emitted. An errStop from emit ends the merge with nil.
func merge[T any](pending []T, cmp func(a, b T) int, tree func(func(T) error) error, keep func(T) (bool, error), emit func(T) error) error {
	slices.SortFunc(pending, cmp)
	err := tree(func(v T) error {
		for len(pending) > 0 && cmp(pending[0], v) < 0 {
			if err := emit(pending[0]); err != nil {
				return err
			}
			pending = pending[1:]
		}
		if len(pending) > 0 && cmp(pending[0], v) == 0 {
			p := pending[0] // the layers' entry, which shadows the tree's
			pending = pending[1:]
			return emit(p)
		}
		if ok, err := keep(v); err != nil || !ok {
			return err
		}
		return emit(v)
	})
	for err == nil && len(pending) > 0 {
		err = emit(pending[0])
		pending = pending[1:]
	}
	if err == errStop {
		return nil
	}
	return err
}

// unshadowed returns the keep of merge for the tree's entries of the
// layered iterations: those whose record no layer shadows.
func unshadowed[T any](t *ltx, id func(T) revoke.ID) func(T) (bool, error) {
	return func(v T) (bool, error) { return !t.shadowed(id(v)), nil }
}

func recordID(rec revoke.Record) revoke.ID { return rec.ID }

// collect returns the emit of merge that appends to *out and ends the
// iteration (errStop) once it holds limit entries.
func collect[T any](out *[]T, limit int) func(T) error {
	return func(v T) error {
		*out = append(*out, v)
		if len(*out) == limit {
			return errStop
		}
		return nil
	}
}

// counter counts the items an iteration reports and checks its context
// every ctxEvery of them.
type counter struct {
	ctx context.Context
	op  string
	n   int
}

// counted returns fn, counted by c.
func counted[T any](c *counter, fn func(T) error) func(T) error {
	return func(v T) error {
		if err := c.tick(); err != nil {
			return err
		}
		return fn(v)
	}
}

func (c *counter) tick() error {
	if c.n++; c.n%ctxEvery == 0 {
		if err := c.ctx.Err(); err != nil {
			return fmt.Errorf("bolt: %s: %w", c.op, err)
		}
	}
	return nil
}
