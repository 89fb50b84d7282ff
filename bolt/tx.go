package bolt

import (
	"bytes"
	"context"
	"crypto/sha256"
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

// empty is the value of the expiry index entries.
var empty = []byte{}

// tx is a revoke.Tx over a bbolt transaction. Every value it returns is
// decoded into fresh memory: bbolt's slices are valid only inside the
// transaction.
type tx struct {
	btx                                             *bbolt.Tx
	records, members, expiry, revoked, meta, owners *bbolt.Bucket
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
		members: top.Bucket(bucketMembers),
		expiry:  top.Bucket(bucketExpiry),
		revoked: top.Bucket(bucketRevoked),
		meta:    top.Bucket(bucketMeta),
		owners:  top.Bucket(bucketOwners),
	}
	if t.records == nil || t.members == nil || t.expiry == nil || t.revoked == nil || t.meta == nil || t.owners == nil {
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

// stored returns the decoded record under grant ‖ id, or found == false
// when there is none.
func (t *tx) stored(grant, id revoke.ID) (revoke.Record, bool, error) {
	var k [recordKeyLen]byte
	copy(k[:], grant[:])
	copy(k[idLen:], id[:])
	v := t.records.Get(k[:])
	if v == nil {
		return revoke.Record{}, false, nil
	}
	rec, err := decodeStored(k[:], v)
	if err != nil {
		return revoke.Record{}, false, err
	}
	return rec, true, nil
}

// get returns the record whose ID is id. It looks under hint ‖ id first,
// hint being the grant the caller expects the record in (id itself when it
// knows none), then under id ‖ id (a token that starts its grant), then
// under the grant the members bucket names.
func (t *tx) get(id, hint revoke.ID) (revoke.Record, bool, error) {
	if rec, found, err := t.stored(hint, id); found || err != nil {
		return rec, found, err
	}
	if hint != id {
		if rec, found, err := t.stored(id, id); found || err != nil {
			return rec, found, err
		}
	}
	g := t.members.Get(id[:])
	if g == nil {
		return revoke.Record{}, false, nil
	}
	if len(g) != idLen {
		return revoke.Record{}, false, fmt.Errorf("%w: members entry of %x holds %d bytes, want %d", ErrCorrupt, id, len(g), idLen)
	}
	grant := revoke.ID(g)
	if grant != hint && grant != id { // else looked up above, in vain
		if rec, found, err := t.stored(grant, id); found || err != nil {
			return rec, found, err
		}
	}
	return revoke.Record{}, false, fmt.Errorf("%w: members entry names a missing record %x of grant %x", ErrCorrupt, id, grant)
}

// Get returns the record whose ID is id.
func (t *tx) Get(_ context.Context, id revoke.ID) (revoke.Record, bool, error) {
	return t.get(id, id)
}

// Put stores rec under rec.Grant ‖ rec.ID with its index entries, first
// removing the record it replaces (from another grant, if it moves) and
// the index entries that no longer hold.
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
	old, existed, err := t.get(rec.ID, rec.Grant)
	if err != nil {
		return fmt.Errorf("bolt: Put: replacing %w", err)
	}
	var oldExp int64
	if existed {
		oldExp, _ = nanos(old.ExpiresAt) // decoded from nanoseconds
		if err := t.remove("Put", old, oldExp, &rec); err != nil {
			return err
		}
	}
	if err := t.records.Put(recordKey(rec.Grant, rec.ID), val); err != nil {
		return fmt.Errorf("bolt: Put: %w", err)
	}
	if rec.Grant != rec.ID && (!existed || old.Grant != rec.Grant) {
		id, grant := rec.ID, rec.Grant
		if err := t.members.Put(id[:], grant[:]); err != nil {
			return fmt.Errorf("bolt: Put: members: %w", err)
		}
	}
	if !existed || oldExp != exp {
		if err := t.expiry.Put(expiryKey(exp, rec.ID), empty); err != nil {
			return fmt.Errorf("bolt: Put: expiry index: %w", err)
		}
	}
	if !existed || !sameOwners(old, rec) {
		if err := t.putOwners(rec); err != nil {
			return fmt.Errorf("bolt: Put: %w", err)
		}
	}
	if rec.Seq != 0 && (!existed || old.Seq != rec.Seq || old.Check != rec.Check || oldExp != exp) {
		if err := t.revoked.Put(orderKey(rec.Seq, rec.ID), revocationValue(rec.Check, exp)); err != nil {
			return fmt.Errorf("bolt: Put: revocation index: %w", err)
		}
	}
	return nil
}

// remove removes old, the stored record, with its members and index
// entries, keeping those that next, the record replacing it (or nil for
// Delete), has too. old is left in place when next stays in its grant:
// Put overwrites it.
func (t *tx) remove(op string, old revoke.Record, oldExp int64, next *revoke.Record) error {
	if next == nil || next.Grant != old.Grant {
		if err := t.records.Delete(recordKey(old.Grant, old.ID)); err != nil {
			return fmt.Errorf("bolt: %s: %w", op, err)
		}
		// A members entry that next needs is overwritten by Put.
		if old.Grant != old.ID && (next == nil || next.Grant == next.ID) {
			if err := t.members.Delete(old.ID[:]); err != nil {
				return fmt.Errorf("bolt: %s: members: %w", op, err)
			}
		}
	}
	if next == nil || !next.ExpiresAt.Equal(old.ExpiresAt) {
		if err := t.expiry.Delete(expiryKey(oldExp, old.ID)); err != nil {
			return fmt.Errorf("bolt: %s: expiry index: %w", op, err)
		}
	}
	if next == nil || !sameOwners(old, *next) {
		if err := t.deleteOwners(old); err != nil {
			return fmt.Errorf("bolt: %s: %w", op, err)
		}
	}
	if old.Seq != 0 && (next == nil || next.Seq != old.Seq) {
		if err := t.revoked.Delete(orderKey(old.Seq, old.ID)); err != nil {
			return fmt.Errorf("bolt: %s: revocation index: %w", op, err)
		}
	}
	return nil
}

// Delete removes the record whose ID is id, its members entry and its
// index entries.
func (t *tx) Delete(_ context.Context, id revoke.ID) error {
	if err := t.writable("Delete"); err != nil {
		return err
	}
	old, existed, err := t.get(id, id)
	if err != nil {
		return fmt.Errorf("bolt: Delete: %w", err)
	}
	if !existed {
		return nil
	}
	exp, _ := nanos(old.ExpiresAt)
	return t.remove("Delete", old, exp, nil)
}

// Grant calls fn for every record of grant, in ID order. They are the
// records whose keys start with the grant's ID: one run of adjacent keys,
// read with one cursor, without a lookup per member.
func (t *tx) Grant(ctx context.Context, grant revoke.ID, fn func(revoke.Record) error) error {
	c := t.records.Cursor()
	n := 0
	for k, v := c.Seek(grant[:]); k != nil && bytes.HasPrefix(k, grant[:]); k, v = c.Next() {
		if n++; n%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("bolt: Grant: %w", err)
			}
		}
		rec, err := decodeStored(k, v)
		if err != nil {
			return err
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
		id := revoke.ID(k[8:])
		rec, found, err := t.get(id, id)
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

// The owners bucket indexes records by subject and by client for Grants:
//
//	owner ‖ SHA-256(subject or client) ‖ grant ID ‖ token ID → empty
//
// owner being 1 (subject) or 2 (client), as revoke.Owner. The digest gives
// keys a fixed length, within bbolt's key size limit whatever the length of
// a subject or client, and the grant first makes an owner's grants one
// ascending run.

// ownerPrefix is the part of the owners keys of by and key before the grant.
func ownerPrefix(by revoke.Owner, key string) []byte {
	p := make([]byte, 0, ownerPrefixLen+recordKeyLen)
	sum := sha256.Sum256([]byte(key))
	return append(append(p, byte(by)), sum[:]...)
}

const ownerPrefixLen = 1 + sha256.Size

// ownerKey is the owners key of rec for by and key.
func ownerKey(by revoke.Owner, key string, rec revoke.Record) []byte {
	k := ownerPrefix(by, key)
	k = append(k, rec.Grant[:]...)
	return append(k, rec.ID[:]...)
}

// sameOwners reports whether a and b have the same owners keys.
func sameOwners(a, b revoke.Record) bool {
	return a.Grant == b.Grant && a.ClientID == b.ClientID && a.Subject == b.Subject
}

func (t *tx) putOwners(rec revoke.Record) error {
	if err := t.owners.Put(ownerKey(revoke.ByClient, rec.ClientID, rec), empty); err != nil {
		return fmt.Errorf("owners index: %w", err)
	}
	if rec.Subject != "" {
		if err := t.owners.Put(ownerKey(revoke.BySubject, rec.Subject, rec), empty); err != nil {
			return fmt.Errorf("owners index: %w", err)
		}
	}
	return nil
}

func (t *tx) deleteOwners(rec revoke.Record) error {
	if err := t.owners.Delete(ownerKey(revoke.ByClient, rec.ClientID, rec)); err != nil {
		return fmt.Errorf("owners index: %w", err)
	}
	if rec.Subject != "" {
		if err := t.owners.Delete(ownerKey(revoke.BySubject, rec.Subject, rec)); err != nil {
			return fmt.Errorf("owners index: %w", err)
		}
	}
	return nil
}

// Grants calls fn for at most limit grants of the subject or client key
// above after, in ascending order: one cursor seek per grant reported, never
// a scan of the store.
func (t *tx) Grants(ctx context.Context, by revoke.Owner, key string, after revoke.ID, limit int, fn func(revoke.ID) error) error {
	if by != revoke.BySubject && by != revoke.ByClient {
		return fmt.Errorf("bolt: Grants: unknown owner %v", by)
	}
	if limit <= 0 || (by == revoke.BySubject && key == "") {
		return nil
	}
	prefix := ownerPrefix(by, key)
	seek := func(g revoke.ID) []byte { return append(prefix[:len(prefix):len(prefix)], g[:]...) }
	from, ok := nextID(after)
	if !ok {
		return nil
	}
	c := t.owners.Cursor()
	for n := 0; n < limit; n++ {
		if n%ctxEvery == ctxEvery-1 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("bolt: Grants: %w", err)
			}
		}
		k, _ := c.Seek(seek(from))
		if k == nil || !bytes.HasPrefix(k, prefix) {
			return nil
		}
		if len(k) != len(prefix)+recordKeyLen {
			return fmt.Errorf("%w: owners key of %d bytes, want %d", ErrCorrupt, len(k), len(prefix)+recordKeyLen)
		}
		g := revoke.ID(k[len(prefix):])
		if err := fn(g); err != nil {
			return err
		}
		if from, ok = nextID(g); !ok {
			return nil
		}
	}
	return nil
}

// nextID returns id + 1 as a 256-bit big-endian number, and false when id
// is the greatest ID.
func nextID(id revoke.ID) (revoke.ID, bool) {
	for i := len(id) - 1; i >= 0; i-- {
		id[i]++
		if id[i] != 0 {
			return id, true
		}
	}
	return id, false
}
