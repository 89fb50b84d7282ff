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
// are bounded (see WithJournalBatch), so sorting them per call is cheap
// beside the calls' own cost.

// RevokedSince calls fn for every revoked record whose Seq is above seq,
// in ascending Seq order.
func (t *ltx) RevokedSince(ctx context.Context, seq uint64, fn func(revoke.Revocation) error) error {
	var pending []revoke.Revocation
	for _, rec := range t.records(func(r revoke.Record) bool { return r.Seq != 0 && r.Seq > seq }) {
		pending = append(pending, rec.Revocation())
	}
	slices.SortFunc(pending, func(a, b revoke.Revocation) int {
		if a.Seq != b.Seq {
			return cmp.Compare(a.Seq, b.Seq)
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	c := counter{ctx: ctx, op: "RevokedSince"}
	emit := func(rev revoke.Revocation) error {
		if err := c.tick(); err != nil {
			return err
		}
		return fn(rev)
	}
	err := t.tree.RevokedSince(ctx, seq, func(rev revoke.Revocation) error {
		if t.shadowed(rev.ID) {
			return nil
		}
		for len(pending) > 0 && (pending[0].Seq < rev.Seq || pending[0].Seq == rev.Seq && bytes.Compare(pending[0].ID[:], rev.ID[:]) < 0) {
			if err := emit(pending[0]); err != nil {
				return err
			}
			pending = pending[1:]
		}
		return emit(rev)
	})
	for err == nil && len(pending) > 0 {
		err = emit(pending[0])
		pending = pending[1:]
	}
	return err
}

// Expired calls fn for at most limit records whose ExpiresAt is before
// before, earliest first.
func (t *ltx) Expired(ctx context.Context, before time.Time, limit int, fn func(revoke.Record) error) error {
	if limit <= 0 {
		return nil
	}
	pending := t.records(func(r revoke.Record) bool { return r.ExpiresAt.Before(before) })
	slices.SortFunc(pending, func(a, b revoke.Record) int {
		if c := a.ExpiresAt.Compare(b.ExpiresAt); c != 0 {
			return c
		}
		return bytes.Compare(a.ID[:], b.ID[:])
	})
	c := counter{ctx: ctx, op: "Expired"}
	emit := func(rec revoke.Record) error {
		if c.n == limit {
			return errStop
		}
		if err := c.tick(); err != nil {
			return err
		}
		return fn(rec)
	}
	err := t.tree.Expired(ctx, before, math.MaxInt, func(rec revoke.Record) error {
		if t.shadowed(rec.ID) {
			return nil
		}
		for len(pending) > 0 && (pending[0].ExpiresAt.Before(rec.ExpiresAt) || pending[0].ExpiresAt.Equal(rec.ExpiresAt) && bytes.Compare(pending[0].ID[:], rec.ID[:]) < 0) {
			if err := emit(pending[0]); err != nil {
				return err
			}
			pending = pending[1:]
		}
		return emit(rec)
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

// Scan calls fn for at most limit records whose ID is above after, in
// ascending ID order.
func (t *ltx) Scan(ctx context.Context, after revoke.ID, limit int, fn func(revoke.Record) error) error {
	if limit <= 0 {
		return nil
	}
	pending := t.records(func(r revoke.Record) bool { return bytes.Compare(r.ID[:], after[:]) > 0 })
	slices.SortFunc(pending, func(a, b revoke.Record) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	c := counter{ctx: ctx, op: "Scan"}
	emit := func(rec revoke.Record) error {
		if c.n == limit {
			return errStop
		}
		if err := c.tick(); err != nil {
			return err
		}
		return fn(rec)
	}
	err := t.tree.Scan(ctx, after, math.MaxInt, func(rec revoke.Record) error {
		if t.shadowed(rec.ID) {
			return nil
		}
		for len(pending) > 0 && bytes.Compare(pending[0].ID[:], rec.ID[:]) < 0 {
			if err := emit(pending[0]); err != nil {
				return err
			}
			pending = pending[1:]
		}
		return emit(rec)
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
	slices.SortFunc(pending, func(a, b revoke.ID) int { return bytes.Compare(a[:], b[:]) })
	c := counter{ctx: ctx, op: "Grants"}
	emit := func(g revoke.ID) error {
		if c.n == limit {
			return errStop
		}
		if err := c.tick(); err != nil {
			return err
		}
		return fn(g)
	}
	err := t.tree.Grants(ctx, by, key, after, math.MaxInt, func(g revoke.ID) error {
		for len(pending) > 0 && bytes.Compare(pending[0][:], g[:]) < 0 {
			if err := emit(pending[0]); err != nil {
				return err
			}
			pending = pending[1:]
		}
		if len(pending) > 0 && pending[0] == g {
			pending = pending[1:]
			return emit(g)
		}
		used, err := t.treeOwns(ctx, g, o)
		if err != nil || !used {
			return err
		}
		return emit(g)
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

func (c *counter) tick() error {
	if c.n++; c.n%ctxEvery == 0 {
		if err := c.ctx.Err(); err != nil {
			return fmt.Errorf("bolt: %s: %w", c.op, err)
		}
	}
	return nil
}
