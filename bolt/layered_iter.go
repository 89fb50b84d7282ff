package bolt

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// The iterations of ltx merge the tree's index, skipping the records a
// layer shadows, with the layers' records sorted the same way. The layers
// are bounded (see applyLimitFactor), so sorting them per call is cheap
// beside the calls' own cost.

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
	}, unshadowed(t, func(r revoke.Revocation) revoke.ID { return r.ID }), limited(&c, math.MaxInt, fn))
}

// Expired calls fn for at most limit records whose ExpiresAt is before
// before, earliest first.
func (t *ltx) Expired(ctx context.Context, before time.Time, limit int, fn func(revoke.Record) error) error {
	if limit <= 0 {
		return nil
	}
	pending := t.records(func(r revoke.Record) bool { return r.ExpiresAt.Before(before) })
	c := counter{ctx: ctx, op: "Expired"}
	return merge(pending, func(a, b revoke.Record) int {
		if d := a.ExpiresAt.Compare(b.ExpiresAt); d != 0 {
			return d
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	}, func(fn func(revoke.Record) error) error {
		return t.tree.Expired(ctx, before, math.MaxInt, fn)
	}, unshadowed(t, recordID), limited(&c, limit, fn))
}

// Scan calls fn for at most limit records whose ID is above after, in
// ascending ID order.
func (t *ltx) Scan(ctx context.Context, after revoke.ID, limit int, fn func(revoke.Record) error) error {
	if limit <= 0 {
		return nil
	}
	pending := t.records(func(r revoke.Record) bool { return bytes.Compare(r.ID[:], after[:]) > 0 })
	c := counter{ctx: ctx, op: "Scan"}
	return merge(pending, func(a, b revoke.Record) int {
		return bytes.Compare(a.ID[:], b.ID[:])
	}, func(fn func(revoke.Record) error) error {
		return t.tree.Scan(ctx, after, math.MaxInt, fn)
	}, unshadowed(t, recordID), limited(&c, limit, fn))
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

// Grants calls fn for at most limit grants of the subject or client key
// above after, in ascending order. A grant of the tree's owners index is
// reported only while a record of it has the owner: one the layers hold,
// or one of the tree's that no layer shadows.
func (t *ltx) Grants(ctx context.Context, by revoke.Owner, key string, after revoke.ID, limit int, fn func(revoke.ID) error) error {
	if err := t.tree.Grants(ctx, by, key, after, 0, nil); err != nil {
		return err // an unknown owner
	}
	if limit <= 0 || (by == revoke.BySubject && key == "") {
		return nil
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
	c := counter{ctx: ctx, op: "Grants"}
	return merge(pending, func(a, b revoke.ID) int { return bytes.Compare(a[:], b[:]) }, func(fn func(revoke.ID) error) error {
		return t.tree.Grants(ctx, by, key, after, math.MaxInt, fn)
	}, func(g revoke.ID) (bool, error) { return t.treeOwns(ctx, g, o) }, limited(&c, limit, fn))
}

// treeOwns reports whether a record of grant in the tree that no layer
// shadows has owner o.
func (t *ltx) treeOwns(ctx context.Context, grant revoke.ID, o owned) (bool, error) {
	found := false
	err := t.tree.Grant(ctx, grant, func(rec revoke.Record) error {
		if owns(rec, o) && !t.shadowed(rec.ID) {
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

// counter counts the items an iteration reports and checks its context
// every ctxEvery of them.
type counter struct {
	ctx context.Context
	op  string
	n   int
}

// limited returns fn, counted by c, that ends the iteration (errStop)
// once it was called limit times.
func limited[T any](c *counter, limit int, fn func(T) error) func(T) error {
	return func(v T) error {
		if c.n == limit {
			return errStop
		}
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
