package memory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// tx is a transaction: the committed state, and, in an Update, the overlay
// of its writes, which every read consults first.
type tx struct {
	base   *state
	writes *overlay // nil in a View
	seq    uint64
}

// get returns the record of id as the transaction sees it.
func (t *tx) get(id revoke.ID) (revoke.Record, bool) {
	if t.writes != nil {
		if rec, ok := t.writes.records[id]; ok {
			return rec, true
		}
		if _, ok := t.writes.deleted[id]; ok {
			return revoke.Record{}, false
		}
	}
	rec, ok := t.base.records[id]
	return rec, ok
}

// each calls fn for every record the transaction sees, until fn returns
// false.
func (t *tx) each(fn func(revoke.Record) bool) {
	for id, rec := range t.base.records {
		if t.writes != nil {
			if _, ok := t.writes.written[id]; ok {
				continue // read from the overlay below
			}
		}
		if !fn(rec) {
			return
		}
	}
	if t.writes == nil {
		return
	}
	for _, rec := range t.writes.records {
		if !fn(rec) {
			return
		}
	}
}

// members returns the IDs of the records of grant the transaction sees.
func (t *tx) members(grant revoke.ID) []revoke.ID {
	var ids []revoke.ID
	for id := range t.base.grants[grant] {
		if rec, ok := t.get(id); ok && rec.Grant == grant {
			ids = append(ids, id)
		}
	}
	if t.writes == nil {
		return ids
	}
	for _, id := range t.writes.grants[grant] {
		if _, inBase := t.base.grants[grant][id]; inBase {
			continue // seen above
		}
		if rec, ok := t.writes.records[id]; ok && rec.Grant == grant {
			ids = append(ids, id)
		}
	}
	return ids
}

func (t *tx) writable(method string) error {
	if t.writes == nil {
		return fmt.Errorf("memory: %s in a read-only transaction", method)
	}
	return nil
}

// Get returns the records of ids the transaction sees.
func (t *tx) Get(_ context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	recs := make([]revoke.Record, 0, len(ids))
	for i, id := range ids {
		if slices.Contains(ids[:i], id) {
			continue
		}
		if rec, ok := t.get(id); ok {
			recs = append(recs, rec)
		}
	}
	return recs, nil
}

// Put writes recs to the transaction's overlay.
func (t *tx) Put(_ context.Context, recs []revoke.Record) error {
	if err := t.writable("Put"); err != nil {
		return err
	}
	for _, rec := range recs {
		t.writes.put(rec)
		t.seq = max(t.seq, rec.Seq) // an imported Seq: NextSeq stays above it
	}
	return nil
}

// Delete marks the records of ids deleted in the transaction's overlay.
func (t *tx) Delete(_ context.Context, ids []revoke.ID) error {
	if err := t.writable("Delete"); err != nil {
		return err
	}
	for _, id := range ids {
		if _, ok := t.get(id); ok {
			t.writes.remove(id)
		}
	}
	return nil
}

// RevokeGrants sets seq on the live records of grants.
func (t *tx) RevokeGrants(_ context.Context, seq uint64, grants []revoke.ID) ([]revoke.Revocation, error) {
	if err := t.writable("RevokeGrants"); err != nil {
		return nil, err
	}
	var revs []revoke.Revocation
	for i, g := range grants {
		if slices.Contains(grants[:i], g) {
			continue
		}
		for _, id := range t.members(g) {
			rec, _ := t.get(id)
			if rec.Revoked() {
				continue
			}
			rec.Seq = seq
			t.writes.put(rec)
			revs = append(revs, rec.Revocation())
		}
	}
	t.seq = max(t.seq, seq)
	return revs, nil
}

// GrantsOf returns at most limit grants of the subject or client key above
// after, in ascending order. The index is a hash map: it picks the lowest
// limit IDs above after in one pass over the owner's grants, in time
// proportional to their number, not to the store's.
func (t *tx) GrantsOf(_ context.Context, by revoke.Owner, key string, after revoke.ID, limit int) ([]revoke.ID, error) {
	if by != revoke.BySubject && by != revoke.ByClient {
		return nil, fmt.Errorf("memory: GrantsOf: unknown owner %v", by)
	}
	if limit <= 0 || (by == revoke.BySubject && key == "") {
		return nil, nil
	}
	var low []revoke.ID // sorted, at most limit
	consider := func(g revoke.ID) {
		if bytes.Compare(g[:], after[:]) <= 0 || len(t.members(g)) == 0 {
			return
		}
		i, found := slices.BinarySearchFunc(low, g, compareIDs)
		if found || (len(low) == limit && i == limit) {
			return
		}
		if len(low) == limit {
			low = low[:limit-1]
		}
		low = slices.Insert(low, i, g)
	}
	for g := range t.base.owners[owner{by, key}] {
		consider(g)
	}
	if t.writes != nil {
		for _, rec := range t.writes.records {
			if slices.Contains(ownersOf(rec), owner{by, key}) {
				consider(rec.Grant)
			}
		}
	}
	return low, nil
}

func compareIDs(a, b revoke.ID) int { return bytes.Compare(a[:], b[:]) }

// RevokedSince calls fn for the revoked records above seq, in Seq order.
func (t *tx) RevokedSince(_ context.Context, seq uint64, fn func(revoke.Revocation) error) error {
	var revs []revoke.Revocation
	t.each(func(rec revoke.Record) bool {
		if rec.Seq > seq {
			revs = append(revs, rec.Revocation())
		}
		return true
	})
	slices.SortFunc(revs, func(a, b revoke.Revocation) int {
		if a.Seq != b.Seq {
			return int(min(max(int64(a.Seq)-int64(b.Seq), -1), 1))
		}
		return compareIDs(a.ID, b.ID)
	})
	for _, rev := range revs {
		if err := fn(rev); err != nil {
			return err
		}
	}
	return nil
}

// Expired returns at most limit IDs of records expired before t.
func (t *tx) Expired(_ context.Context, before time.Time, limit int) ([]revoke.ID, error) {
	var ids []revoke.ID
	t.each(func(rec revoke.Record) bool {
		if len(ids) >= limit {
			return false
		}
		if rec.ExpiresAt.Before(before) {
			ids = append(ids, rec.ID)
		}
		return true
	})
	return ids, nil
}

// NextSeq returns the next revocation sequence number.
func (t *tx) NextSeq(context.Context) (uint64, error) {
	if err := t.writable("NextSeq"); err != nil {
		return 0, err
	}
	if t.seq >= math.MaxInt64 {
		return 0, errors.New("memory: NextSeq: the revocation sequence is exhausted")
	}
	t.seq++
	return t.seq, nil
}
