package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/sdkauth/revocation/revoke"
	bbolt "go.etcd.io/bbolt"
)

// ctxEvery is how many items an iteration visits between checks of its
// context.
const ctxEvery = 256

// empty is the value of the grant and expiry index entries.
var empty = []byte{}

// tx is a revoke.Tx over a bbolt transaction. Every value it returns is
// decoded into fresh memory: bbolt's slices are valid only inside the
// transaction.
type tx struct {
	btx                                    *bbolt.Tx
	records, grants, expiry, revoked, meta *bbolt.Bucket
}

var _ revoke.Tx = (*tx)(nil)

// begin returns the store's view of btx, or an error wrapping ErrCorrupt
// when its buckets are gone (New's db shared with code that deleted them).
func (s *Store) begin(btx *bbolt.Tx) (*tx, error) {
	top := btx.Bucket(s.bucket)
	if top == nil {
		return nil, fmt.Errorf("%w: bucket %q is gone", ErrCorrupt, s.bucket)
	}
	t := &tx{
		btx:     btx,
		records: top.Bucket(bucketRecords),
		grants:  top.Bucket(bucketGrants),
		expiry:  top.Bucket(bucketExpiry),
		revoked: top.Bucket(bucketRevoked),
		meta:    top.Bucket(bucketMeta),
	}
	if t.records == nil || t.grants == nil || t.expiry == nil || t.revoked == nil || t.meta == nil {
		return nil, fmt.Errorf("%w: a sub-bucket of %q is gone", ErrCorrupt, s.bucket)
	}
	return t, nil
}

func (t *tx) writable(op string) error {
	if !t.btx.Writable() {
		return fmt.Errorf("bolt: %s in a read-only transaction", op)
	}
	return nil
}

// get returns the record stored under id, decoded.
func (t *tx) get(id []byte) (revoke.Record, bool, error) {
	v := t.records.Get(id)
	if v == nil {
		return revoke.Record{}, false, nil
	}
	rec, err := decodeRecord(id, v)
	if err != nil {
		return revoke.Record{}, false, err
	}
	return rec, true, nil
}

// Get returns the record whose ID is id.
func (t *tx) Get(_ context.Context, id revoke.ID) (revoke.Record, bool, error) {
	return t.get(id[:])
}

// Put stores rec and its index entries, first removing the index entries
// of the record it replaces.
func (t *tx) Put(_ context.Context, rec revoke.Record) error {
	if err := t.writable("Put"); err != nil {
		return err
	}
	// bbolt keeps the key and value slices given to Put until the
	// transaction ends, so each gets fresh memory.
	val, err := encodeRecord(nil, rec)
	if err != nil {
		return err
	}
	exp, _ := nanos(rec.ExpiresAt) // checked by encodeRecord
	old, existed, err := t.get(rec.ID[:])
	if err != nil {
		return fmt.Errorf("bolt: Put: replacing %w", err)
	}
	var oldExp int64
	if existed {
		oldExp, _ = nanos(old.ExpiresAt) // decoded from nanoseconds
		if err := t.unindex(old, oldExp, &rec); err != nil {
			return err
		}
	}
	if err := t.records.Put(rec.ID[:], val); err != nil {
		return fmt.Errorf("bolt: Put: %w", err)
	}
	if (!existed || old.Grant != rec.Grant) && rec.Grant != rec.ID {
		if err := t.grants.Put(grantKey(rec.Grant, rec.ID), empty); err != nil {
			return fmt.Errorf("bolt: Put: grant index: %w", err)
		}
	}
	if !existed || oldExp != exp {
		if err := t.expiry.Put(expiryKey(exp, rec.ID), empty); err != nil {
			return fmt.Errorf("bolt: Put: expiry index: %w", err)
		}
	}
	if rec.Seq != 0 && (!existed || old.Seq != rec.Seq || old.Check != rec.Check || oldExp != exp) {
		if err := t.revoked.Put(orderKey(rec.Seq, rec.ID), revocationValue(rec.Check, exp)); err != nil {
			return fmt.Errorf("bolt: Put: revocation index: %w", err)
		}
	}
	return nil
}

// unindex removes old's index entries, keeping those that next, the record
// replacing it (or nil for Delete), has too.
func (t *tx) unindex(old revoke.Record, oldExp int64, next *revoke.Record) error {
	if (next == nil || next.Grant != old.Grant) && old.Grant != old.ID {
		if err := t.grants.Delete(grantKey(old.Grant, old.ID)); err != nil {
			return fmt.Errorf("bolt: grant index: %w", err)
		}
	}
	if next == nil || !next.ExpiresAt.Equal(old.ExpiresAt) {
		if err := t.expiry.Delete(expiryKey(oldExp, old.ID)); err != nil {
			return fmt.Errorf("bolt: expiry index: %w", err)
		}
	}
	if old.Seq != 0 && (next == nil || next.Seq != old.Seq) {
		if err := t.revoked.Delete(orderKey(old.Seq, old.ID)); err != nil {
			return fmt.Errorf("bolt: revocation index: %w", err)
		}
	}
	return nil
}

// Delete removes the record whose ID is id and its index entries.
func (t *tx) Delete(_ context.Context, id revoke.ID) error {
	if err := t.writable("Delete"); err != nil {
		return err
	}
	old, existed, err := t.get(id[:])
	if err != nil {
		return fmt.Errorf("bolt: Delete: %w", err)
	}
	if !existed {
		return nil
	}
	exp, _ := nanos(old.ExpiresAt)
	if err := t.unindex(old, exp, nil); err != nil {
		return err
	}
	if err := t.records.Delete(id[:]); err != nil {
		return fmt.Errorf("bolt: Delete: %w", err)
	}
	return nil
}

// Grant calls fn for every record of grant: the token that started it,
// which has no grant index entry (most tokens start their own grant, and
// leaving them out of the index spares a random B+tree insert per Issue),
// then its other members in ID order.
func (t *tx) Grant(ctx context.Context, grant revoke.ID, fn func(revoke.Record) error) error {
	root, found, err := t.get(grant[:])
	if err != nil {
		return fmt.Errorf("bolt: Grant: %w", err)
	}
	if found && root.Grant == grant {
		if err := fn(root); err != nil {
			return err
		}
	}
	c := t.grants.Cursor()
	n := 0
	for k, _ := c.Seek(grant[:]); k != nil && bytes.HasPrefix(k, grant[:]); k, _ = c.Next() {
		if n++; n%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("bolt: Grant: %w", err)
			}
		}
		if len(k) != grantKeyLen {
			return fmt.Errorf("%w: grant index key of %d bytes, want %d", ErrCorrupt, len(k), grantKeyLen)
		}
		rec, found, err := t.get(k[idLen:])
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: grant index names a missing record %x", ErrCorrupt, k[idLen:])
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// RevokedSince calls fn for every revocation whose Seq is greater than seq,
// in Seq order. It reads the revocation index alone.
func (t *tx) RevokedSince(ctx context.Context, seq uint64, fn func(revoke.Revocation) error) error {
	if seq == math.MaxUint64 {
		return nil
	}
	var start [8]byte
	binary.BigEndian.PutUint64(start[:], seq+1)
	c := t.revoked.Cursor()
	n := 0
	for k, v := c.Seek(start[:]); k != nil; k, v = c.Next() {
		if n++; n%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("bolt: RevokedSince: %w", err)
			}
		}
		rev, err := decodeRevocation(k, v)
		if err != nil {
			return err
		}
		if err := fn(rev); err != nil {
			return err
		}
	}
	return nil
}

// minExpiry and maxExpiry bound the expiries a record can have.
var (
	minExpiry = time.Unix(0, math.MinInt64)
	maxExpiry = time.Unix(0, math.MaxInt64)
)

// Expired calls fn for at most limit records whose ExpiresAt is before
// before, earliest first.
func (t *tx) Expired(ctx context.Context, before time.Time, limit int, fn func(revoke.Record) error) error {
	if limit <= 0 || !before.After(minExpiry) {
		return nil
	}
	// Past maxExpiry every record qualifies.
	all, bound := before.After(maxExpiry), expiryOrder(before.UnixNano())
	c := t.expiry.Cursor()
	n := 0
	for k, _ := c.First(); k != nil && n < limit; k, _ = c.Next() {
		if len(k) != orderKeyLen {
			return fmt.Errorf("%w: expiry index key of %d bytes, want %d", ErrCorrupt, len(k), orderKeyLen)
		}
		if !all && binary.BigEndian.Uint64(k) >= bound {
			break
		}
		if n++; n%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("bolt: Expired: %w", err)
			}
		}
		rec, found, err := t.get(k[8:])
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%w: expiry index names a missing record %x", ErrCorrupt, k[8:])
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// NextSeq returns one more than the greatest of the stored counter and the
// highest Seq in the revocation index, and stores it as the counter.
func (t *tx) NextSeq(context.Context) (uint64, error) {
	if err := t.writable("NextSeq"); err != nil {
		return 0, err
	}
	cur, err := storedSeq(t.meta)
	if err != nil {
		return 0, err
	}
	if k, _ := t.revoked.Cursor().Last(); k != nil {
		if len(k) != orderKeyLen {
			return 0, fmt.Errorf("%w: revocation index key of %d bytes, want %d", ErrCorrupt, len(k), orderKeyLen)
		}
		cur = max(cur, binary.BigEndian.Uint64(k))
	}
	if cur == math.MaxUint64 {
		return 0, fmt.Errorf("bolt: NextSeq: the revocation sequence is exhausted")
	}
	cur++
	v := binary.BigEndian.AppendUint64(nil, cur)
	if err := t.meta.Put(keySeq, v); err != nil {
		return 0, fmt.Errorf("bolt: NextSeq: %w", err)
	}
	return cur, nil
}

// storedSeq returns the sequence counter kept in meta, 0 if none.
func storedSeq(meta *bbolt.Bucket) (uint64, error) {
	v := meta.Get(keySeq)
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return binary.BigEndian.Uint64(v), nil
	}
	return 0, fmt.Errorf("%w: sequence counter of %d bytes, want 8", ErrCorrupt, len(v))
}
