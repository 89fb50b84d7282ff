package bolt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
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
	btx                                                 *bbolt.Tx
	records, ids, grants, expiry, revoked, meta, owners *bbolt.Bucket

	// The grant whose key was last looked up or given, and its key: a
	// cascade puts every record of one grant, an Issue reads the parent
	// and puts a token of its grant.
	lastGrant revoke.ID
	lastKey   grantKey
	lastValid bool
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
		ids:     top.Bucket(bucketIDs),
		grants:  top.Bucket(bucketGrantKeys),
		expiry:  top.Bucket(bucketExpiry),
		revoked: top.Bucket(bucketRevoked),
		meta:    top.Bucket(bucketMeta),
		owners:  top.Bucket(bucketOwners),
	}
	if t.records == nil || t.ids == nil || t.grants == nil || t.expiry == nil || t.revoked == nil || t.meta == nil || t.owners == nil {
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

// get returns the record whose ID is id and the key of its grant: the ids
// bucket names the grant key, under which the records bucket holds the
// record.
func (t *tx) get(id revoke.ID) (revoke.Record, grantKey, bool, error) {
	v := t.ids.Get(id[:])
	if v == nil {
		return revoke.Record{}, grantKey{}, false, nil
	}
	if len(v) != grantKeyLen {
		return revoke.Record{}, grantKey{}, false, fmt.Errorf("%w: ids entry of %x holds %d bytes, want %d", ErrCorrupt, id, len(v), grantKeyLen)
	}
	gk := grantKey(v)
	k := recordKey(gk, id)
	val := t.records.Get(k[:])
	if val == nil {
		return revoke.Record{}, grantKey{}, false, fmt.Errorf("%w: ids entry names a missing record %x under grant key %x", ErrCorrupt, id, gk)
	}
	rec, err := decodeStored(k[:], val)
	if err != nil {
		return revoke.Record{}, grantKey{}, false, err
	}
	if own, found, err := t.grantKeyOf(rec.Grant); err != nil || !found || own != gk {
		if err == nil {
			err = fmt.Errorf("%w: record %s of grant %s is stored under grant key %x, not its grant's (%x)", ErrCorrupt, id, rec.Grant, gk, own)
		}
		return revoke.Record{}, grantKey{}, false, err
	}
	return rec, gk, true, nil
}

// Get returns the record whose ID is id.
func (t *tx) Get(_ context.Context, id revoke.ID) (revoke.Record, bool, error) {
	rec, _, found, err := t.get(id)
	return rec, found, err
}

// grantKeyOf returns the key of grant, and false when no record of it is
// stored. The key of a grant whose first token is stored in it (Grant ==
// ID, most grants) is that token's ids entry; the grantkeys bucket holds
// the keys of the other grants: those whose first token was deleted or
// moved, or never stored.
func (t *tx) grantKeyOf(grant revoke.ID) (grantKey, bool, error) {
	if t.lastValid && t.lastGrant == grant {
		return t.lastKey, true, nil
	}
	v := t.grants.Get(grant[:])
	if v == nil {
		// The first token's ids entry, if it is stored in its grant.
		if v = t.ids.Get(grant[:]); v == nil {
			return grantKey{}, false, nil
		}
		if len(v) != grantKeyLen {
			return grantKey{}, false, fmt.Errorf("%w: ids entry of %x holds %d bytes, want %d", ErrCorrupt, grant, len(v), grantKeyLen)
		}
		k := recordKey(grantKey(v), grant)
		rec := t.records.Get(k[:])
		switch {
		case len(rec) < 2:
			return grantKey{}, false, fmt.Errorf("%w: ids entry names a missing or short record %x under grant key %x", ErrCorrupt, grant, v)
		case rec[1]&flagGrantSelf == 0:
			return grantKey{}, false, nil // a member of another grant
		}
	} else if len(v) != grantKeyLen {
		return grantKey{}, false, fmt.Errorf("%w: grantkeys entry of %x holds %d bytes, want %d", ErrCorrupt, grant, len(v), grantKeyLen)
	}
	t.lastGrant, t.lastKey, t.lastValid = grant, grantKey(v), true
	return grantKey(v), true, nil
}

// newGrantKey gives grant, which has no key, the next one from the counter
// in meta: keys are handed out in ascending order, so that the records of
// new grants are appended at the right edge of the records bucket. The key
// goes into the grantkeys bucket unless root, the record about to be put,
// is the grant's first token, whose ids entry holds it.
func (t *tx) newGrantKey(grant revoke.ID, root bool) (grantKey, error) {
	var n uint64
	switch v := t.meta.Get(keyGrantSeq); len(v) {
	case 0:
	case grantKeyLen:
		n = binary.BigEndian.Uint64(v)
	default:
		return grantKey{}, fmt.Errorf("%w: grant key counter of %d bytes, want %d", ErrCorrupt, len(v), grantKeyLen)
	}
	if n == math.MaxUint64 {
		return grantKey{}, errors.New("grant keys are exhausted")
	}
	n++
	var gk grantKey
	binary.BigEndian.PutUint64(gk[:], n)
	// bbolt keeps the slices given to Put until the transaction ends.
	if err := t.meta.Put(keyGrantSeq, binary.BigEndian.AppendUint64(nil, n)); err != nil {
		return grantKey{}, err
	}
	if !root {
		if err := t.grants.Put(append([]byte(nil), grant[:]...), append([]byte(nil), gk[:]...)); err != nil {
			t.lastValid = false
			return grantKey{}, err
		}
	}
	t.lastGrant, t.lastKey, t.lastValid = grant, gk, true
	return gk, nil
}

// Put stores rec under its grant's key ‖ rec.ID with its index entries,
// first removing the record it replaces (from another grant, if it moves)
// and the index entries that no longer hold.
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
	old, oldGK, existed, err := t.get(rec.ID)
	if err != nil {
		return fmt.Errorf("bolt: Put: replacing %w", err)
	}
	// The key of rec's grant, found before the record it replaces, in
	// another grant, goes: its ids entry may name that grant's first token.
	gk := oldGK
	if !existed || old.Grant != rec.Grant {
		if gk, err = t.grantKeyFor(rec); err != nil {
			return fmt.Errorf("bolt: Put: %w", err)
		}
	}
	var oldExp int64
	if existed {
		oldExp, _ = nanos(old.ExpiresAt) // decoded from nanoseconds
		if err := t.remove("Put", old, oldGK, oldExp, &rec); err != nil {
			return err
		}
	}
	k := recordKey(gk, rec.ID)
	if err := t.records.Put(append([]byte(nil), k[:]...), val); err != nil {
		return fmt.Errorf("bolt: Put: %w", err)
	}
	if err := t.putIndexes(rec, gk, exp, old, oldGK, oldExp, existed); err != nil {
		return fmt.Errorf("bolt: Put: %w", err)
	}
	return nil
}

// grantKeyFor returns the key of rec's grant, made when the grant has none.
func (t *tx) grantKeyFor(rec revoke.Record) (grantKey, error) {
	gk, found, err := t.grantKeyOf(rec.Grant)
	if err != nil || found {
		return gk, err
	}
	return t.newGrantKey(rec.Grant, rec.Grant == rec.ID)
}

// putIndexes writes the index entries of rec, stored under grant key gk
// with expiry exp, that the version it replaces (old, if existed) did not
// have: its ids entry, expiry, owners and revocation.
func (t *tx) putIndexes(rec revoke.Record, gk grantKey, exp int64, old revoke.Record, oldGK grantKey, oldExp int64, existed bool) error {
	if !existed || gk != oldGK {
		if err := t.ids.Put(append([]byte(nil), rec.ID[:]...), append([]byte(nil), gk[:]...)); err != nil {
			return fmt.Errorf("ids: %w", err)
		}
	}
	if !existed || oldExp != exp {
		if err := t.expiry.Put(expiryKey(exp, rec.ID), empty); err != nil {
			return fmt.Errorf("expiry index: %w", err)
		}
	}
	if !existed || !sameOwners(old, rec) {
		if err := t.putOwners(rec); err != nil {
			return err
		}
	}
	if rec.Seq != 0 && (!existed || old.Seq != rec.Seq || old.Check != rec.Check || oldExp != exp || old.Status != rec.Status) {
		if err := t.revoked.Put(orderKey(rec.Seq, rec.ID), revocationValue(rec.Check, exp, rec.Status)); err != nil {
			return fmt.Errorf("revocation index: %w", err)
		}
	}
	return nil
}

// remove removes old, the stored record under grant key gk, with its ids,
// grants and index entries, keeping those that next, the record replacing
// it (or nil for Delete), has too. old is left in place when next stays in
// its grant: Put overwrites it.
func (t *tx) remove(op string, old revoke.Record, gk grantKey, oldExp int64, next *revoke.Record) error {
	if next == nil || next.Grant != old.Grant {
		if err := t.removeFromGrant(old, gk, next == nil); err != nil {
			return fmt.Errorf("bolt: %s: %w", op, err)
		}
	}
	if next == nil || !next.ExpiresAt.Equal(old.ExpiresAt) {
		if err := t.expiry.Delete(expiryKey(oldExp, old.ID)); err != nil {
			return fmt.Errorf("bolt: %s: expiry index: %w", op, err)
		}
	}
	if next == nil || !sameOwners(old, *next) {
		if err := t.dropOwners(old, gk, next); err != nil {
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

// removeFromGrant deletes old's record from its grant gk (and its ids
// entry when the record is deleted, not moved: an ids entry that the next
// version needs is overwritten by Put), and keeps the grant's key: it goes
// with the grant's last record, and a grant that keeps records without its
// first token gets a grantkeys entry, since that token's ids entry no
// longer holds the key.
func (t *tx) removeFromGrant(old revoke.Record, gk grantKey, deleted bool) error {
	k := recordKey(gk, old.ID)
	if err := t.records.Delete(k[:]); err != nil {
		return err
	}
	if deleted {
		if err := t.ids.Delete(old.ID[:]); err != nil {
			return fmt.Errorf("ids: %w", err)
		}
	}
	if k, _ := t.records.Cursor().Seek(gk[:]); !hasPrefix(k, gk[:]) {
		if t.lastGrant == old.Grant {
			t.lastValid = false
		}
		if err := t.grants.Delete(old.Grant[:]); err != nil {
			return fmt.Errorf("grants: %w", err)
		}
	} else if old.Grant == old.ID {
		if err := t.grants.Put(append([]byte(nil), old.Grant[:]...), append([]byte(nil), gk[:]...)); err != nil {
			return fmt.Errorf("grants: %w", err)
		}
	}
	return nil
}

// hasPrefix reports whether k, a key from a cursor (nil past the end),
// starts with prefix.
func hasPrefix(k, prefix []byte) bool {
	return k != nil && bytes.HasPrefix(k, prefix)
}

// Delete removes the record whose ID is id, its ids entry and its index
// entries.
func (t *tx) Delete(_ context.Context, id revoke.ID) error {
	if err := t.writable("Delete"); err != nil {
		return err
	}
	old, gk, existed, err := t.get(id)
	if err != nil {
		return fmt.Errorf("bolt: Delete: %w", err)
	}
	if !existed {
		return nil
	}
	exp, _ := nanos(old.ExpiresAt)
	return t.remove("Delete", old, gk, exp, nil)
}

// Grant calls fn for every record of grant, in ID order. They are the
// records whose keys start with the grant's key: one run of adjacent keys,
// read with one cursor, without a lookup per member.
func (t *tx) Grant(ctx context.Context, grant revoke.ID, fn func(revoke.Record) error) error {
	gk, found, err := t.grantKeyOf(grant)
	if err != nil || !found {
		return err
	}
	c := t.records.Cursor()
	n := 0
	for k, v := c.Seek(gk[:]); hasPrefix(k, gk[:]); k, v = c.Next() {
		if n++; n%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("bolt: Grant: %w", err)
			}
		}
		rec, err := decodeStored(k, v)
		if err != nil {
			return err
		}
		if rec.Grant != grant {
			return fmt.Errorf("%w: record %s of grant %s is stored under the key of grant %s", ErrCorrupt, rec.ID, rec.Grant, grant)
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
		rec, _, found, err := t.get(id)
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
	cur, err := t.seqFloor()
	if err != nil {
		return 0, err
	}
	if cur >= math.MaxInt64 {
		return 0, fmt.Errorf("bolt: NextSeq: the revocation sequence is exhausted")
	}
	cur++
	if err := t.raiseSeq(cur); err != nil {
		return 0, fmt.Errorf("bolt: NextSeq: %w", err)
	}
	return cur, nil
}

// seqFloor returns the greatest of the stored counter and the highest Seq
// in the revocation index: NextSeq hands out numbers above it.
func (t *tx) seqFloor() (uint64, error) {
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
	return cur, nil
}

// raiseSeq stores n as the sequence counter unless it holds more.
func (t *tx) raiseSeq(n uint64) error {
	cur, err := storedSeq(t.meta)
	if err != nil || cur >= n {
		return err
	}
	return t.meta.Put(keySeq, binary.BigEndian.AppendUint64(nil, n))
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

// The owners bucket indexes grants by subject and by client for Grants:
//
//	owner ‖ SHA-256(subject or client) ‖ grant ID → empty
//
// owner being 1 (subject) or 2 (client), as revoke.Owner. The digest gives
// keys a fixed length, within bbolt's key size limit whatever the length of
// a subject or client, and the grant last makes an owner's grants one
// ascending run. There is one entry per grant, not per record: it is there
// while at least one record of the grant has that subject or client. The
// tokens issued under a grant share its owners, so only the grant's first
// record writes entries; the others find them in place.

// ownerPrefix is the part of the owners keys of by and key before the grant.
func ownerPrefix(by revoke.Owner, key string) []byte {
	p := make([]byte, 0, ownerPrefixLen+idLen)
	sum := sha256.Sum256([]byte(key))
	return append(append(p, byte(by)), sum[:]...)
}

const ownerPrefixLen = 1 + sha256.Size

// ownerKey is the owners key of grant for by and key.
func ownerKey(by revoke.Owner, key string, grant revoke.ID) []byte {
	return append(ownerPrefix(by, key), grant[:]...)
}

// owned is an owner of a record: a subject or a client.
type owned struct {
	by  revoke.Owner
	key string
}

// ownersOf returns the owners of rec that the owners bucket indexes: its
// client, and its subject when it has one.
func ownersOf(rec revoke.Record) []owned {
	o := []owned{{revoke.ByClient, rec.ClientID}}
	if rec.Subject != "" {
		o = append(o, owned{revoke.BySubject, rec.Subject})
	}
	return o
}

// owns reports whether rec has owner o.
func owns(rec revoke.Record, o owned) bool {
	switch o.by {
	case revoke.ByClient:
		return rec.ClientID == o.key
	case revoke.BySubject:
		return o.key != "" && rec.Subject == o.key
	}
	return false
}

// sameOwners reports whether a and b have the same owners entries.
func sameOwners(a, b revoke.Record) bool {
	return a.Grant == b.Grant && a.ClientID == b.ClientID && a.Subject == b.Subject
}

// putOwners adds the owners entries of rec's grant that are not there yet.
func (t *tx) putOwners(rec revoke.Record) error {
	for _, o := range ownersOf(rec) {
		k := ownerKey(o.by, o.key, rec.Grant)
		if t.owners.Get(k) != nil {
			continue
		}
		if err := t.owners.Put(k, empty); err != nil {
			return fmt.Errorf("owners index: %w", err)
		}
	}
	return nil
}

// dropOwners removes the owners entries of old's grant (key gk) that no
// record holds any longer once old is replaced by next (nil for a Delete):
// an entry stays while next, in the same grant, or another record of the
// grant has its owner. old itself may still be in the records bucket.
func (t *tx) dropOwners(old revoke.Record, gk grantKey, next *revoke.Record) error {
	for _, o := range ownersOf(old) {
		if next != nil && next.Grant == old.Grant && owns(*next, o) {
			continue
		}
		used, err := t.ownerUsed(gk, o, old.ID)
		if err != nil {
			return err
		}
		if used {
			continue
		}
		if err := t.owners.Delete(ownerKey(o.by, o.key, old.Grant)); err != nil {
			return fmt.Errorf("owners index: %w", err)
		}
	}
	return nil
}

// ownerUsed reports whether a record of the grant of key gk other than
// except has owner o. The tokens of a grant mostly share its owners, so
// the first record read usually answers.
func (t *tx) ownerUsed(gk grantKey, o owned, except revoke.ID) (bool, error) {
	c := t.records.Cursor()
	for k, v := c.Seek(gk[:]); hasPrefix(k, gk[:]); k, v = c.Next() {
		if bytes.Equal(k[grantKeyLen:], except[:]) {
			continue
		}
		rec, err := decodeStored(k, v)
		if err != nil {
			return false, err
		}
		if owns(rec, o) {
			return true, nil
		}
	}
	return false, nil
}

// Grants calls fn for at most limit grants of the subject or client key
// above after, in ascending order: one cursor seek, then one step per grant
// reported (each grant has one entry per owner), never a scan of the store.
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
	k, _ := c.Seek(seek(from))
	for n := 0; n < limit; n, k = n+1, nextKey(c) {
		if n%ctxEvery == ctxEvery-1 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("bolt: Grants: %w", err)
			}
		}
		if !hasPrefix(k, prefix) {
			return nil
		}
		if len(k) != len(prefix)+idLen {
			return fmt.Errorf("%w: owners key of %d bytes, want %d", ErrCorrupt, len(k), len(prefix)+idLen)
		}
		if err := fn(revoke.ID(k[len(prefix):])); err != nil {
			return err
		}
	}
	return nil
}

// nextKey moves c to the next key and returns it.
func nextKey(c *bbolt.Cursor) []byte {
	k, _ := c.Next()
	return k
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
