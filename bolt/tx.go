package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/sdkauth/revocation/revoke"
	bbolt "go.etcd.io/bbolt"
)

// ctxEvery is how many items an iteration visits between checks of its
// context.
const ctxEvery = 256

// empty is the value of the expiry and owners index entries.
var empty = []byte{}

// tx is a revoke.Tx over a bbolt transaction. Every value it returns is
// decoded into fresh memory: bbolt's slices are valid only inside the
// transaction.
type tx struct {
	btx                                                 *bbolt.Tx
	records, ids, grants, expiry, revoked, meta, owners *bbolt.Bucket
}

var _ revoke.Tx = (*tx)(nil)

// begin returns the store's view of btx, or an error wrapping revoke.ErrCorrupt
// when its buckets are gone (New's db shared with code that deleted them).
func (s *Store) begin(btx *bbolt.Tx) (*tx, error) {
	top := btx.Bucket(s.bucket)
	if top == nil {
		return nil, fmt.Errorf("%w: bucket %q is gone", errCorrupt, s.bucket)
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
		return nil, fmt.Errorf("%w: a sub-bucket of %q is gone", errCorrupt, s.bucket)
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
		return revoke.Record{}, grantKey{}, false, fmt.Errorf("%w: ids entry of %x holds %d bytes, want %d", errCorrupt, id, len(v), grantKeyLen)
	}
	gk := grantKey(v)
	k := recordKey(gk, id)
	val := t.records.Get(k[:])
	if val == nil {
		return revoke.Record{}, grantKey{}, false, fmt.Errorf("%w: ids entry names a missing record %x under grant key %x", errCorrupt, id, gk)
	}
	rec, err := decodeStored(k[:], val)
	if err != nil {
		return revoke.Record{}, grantKey{}, false, err
	}
	if own, found, err := t.grantKeyOf(rec.Grant); err != nil || !found || own != gk {
		if err == nil {
			err = fmt.Errorf("%w: record %s of grant %s is stored under grant key %x, not its grant's (%x)", errCorrupt, id, rec.Grant, gk, own)
		}
		return revoke.Record{}, grantKey{}, false, err
	}
	return rec, gk, true, nil
}

// Get returns the stored records of ids, each once.
func (t *tx) Get(_ context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	return getEach(ids, func(id revoke.ID) (revoke.Record, bool, error) {
		rec, _, found, err := t.get(id)
		return rec, found, err
	})
}

// getEach returns the records get finds of ids, each once.
func getEach(ids []revoke.ID, get func(revoke.ID) (revoke.Record, bool, error)) ([]revoke.Record, error) {
	recs := make([]revoke.Record, 0, len(ids))
	seen := make(map[revoke.ID]struct{}, len(ids))
	for _, id := range ids {
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		rec, found, err := get(id)
		if err != nil {
			return nil, fmt.Errorf("bolt: Get: %w", err)
		}
		if found {
			recs = append(recs, rec)
		}
	}
	return recs, nil
}

// grantKeyOf returns the key of grant, and false when no record of it is
// stored. The key of a grant whose first token is stored (Grant == ID,
// most grants) is that token's ids entry; the grantkeys bucket holds the
// keys of the other grants: those whose first token was deleted, or never
// stored.
func (t *tx) grantKeyOf(grant revoke.ID) (grantKey, bool, error) {
	v := t.grants.Get(grant[:])
	if v == nil {
		// The first token's ids entry, if it is stored in its grant.
		if v = t.ids.Get(grant[:]); v == nil {
			return grantKey{}, false, nil
		}
		if len(v) != grantKeyLen {
			return grantKey{}, false, fmt.Errorf("%w: ids entry of %x holds %d bytes, want %d", errCorrupt, grant, len(v), grantKeyLen)
		}
		k := recordKey(grantKey(v), grant)
		rec := t.records.Get(k[:])
		switch {
		case len(rec) < 2:
			return grantKey{}, false, fmt.Errorf("%w: ids entry names a missing or short record %x under grant key %x", errCorrupt, grant, v)
		case rec[1]&flagGrantSelf == 0:
			return grantKey{}, false, nil // a member of another grant
		}
	} else if len(v) != grantKeyLen {
		return grantKey{}, false, fmt.Errorf("%w: grantkeys entry of %x holds %d bytes, want %d", errCorrupt, grant, len(v), grantKeyLen)
	}
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
		return grantKey{}, fmt.Errorf("%w: grant key counter of %d bytes, want %d", errCorrupt, len(v), grantKeyLen)
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
			return grantKey{}, err
		}
	}
	return gk, nil
}

// Put stores each record of recs (see put).
func (t *tx) Put(_ context.Context, recs []revoke.Record) error {
	if err := t.writable("Put"); err != nil {
		return err
	}
	for _, rec := range recs {
		if err := t.put(rec); err != nil {
			return fmt.Errorf("bolt: Put: %w", err)
		}
	}
	return nil
}

// put stores rec under its grant's key ‖ rec.ID with its index entries:
// a new record with all of them (and its grant's, for the grant's first
// record), a replaced one with those that changed. A record replaced keeps
// its grant and owners (see revoke.Store, "Records and grants"), but for
// one deleted and put again, in another grant, within the journal's
// commits that reach the tree together, as their last version alone:
// that one is deleted, then inserted anew.
func (t *tx) put(rec revoke.Record) error {
	// bbolt keeps the key and value slices given to Put until the
	// transaction ends, so each gets fresh memory.
	val, err := encodeRecord(nil, rec)
	if err != nil {
		return err
	}
	old, gk, existed, err := t.get(rec.ID)
	switch {
	case err != nil:
		return fmt.Errorf("replacing %w", err)
	case !existed:
		return t.insert(rec, val)
	case old.Grant == rec.Grant && old.ClientID == rec.ClientID && old.Subject == rec.Subject:
		return t.replace(old, rec, gk, val)
	}
	if err := t.delete(rec.ID); err != nil {
		return err
	}
	return t.insert(rec, val)
}

// insert stores rec, which the store does not hold, encoded as val, with
// its ids, expiry and revocation entries; the grant's first record also
// gives the grant its key and owners entries.
func (t *tx) insert(rec revoke.Record, val []byte) error {
	gk, found, err := t.grantKeyOf(rec.Grant)
	if err != nil {
		return err
	}
	if !found {
		if gk, err = t.newGrantKey(rec.Grant, rec.Grant == rec.ID); err != nil {
			return err
		}
		if err := t.putOwners(rec); err != nil {
			return err
		}
	}
	k := recordKey(gk, rec.ID)
	if err := t.records.Put(append([]byte(nil), k[:]...), val); err != nil {
		return err
	}
	if err := t.ids.Put(append([]byte(nil), rec.ID[:]...), append([]byte(nil), gk[:]...)); err != nil {
		return fmt.Errorf("ids: %w", err)
	}
	exp, _ := nanos(rec.ExpiresAt) // checked by encodeRecord
	if err := t.expiry.Put(expiryKey(exp, rec.ID), empty); err != nil {
		return fmt.Errorf("expiry index: %w", err)
	}
	return t.putRevocation(rec, exp)
}

// replace overwrites old, stored under grant key gk, with next, of the same
// grant and owners, encoded as val, and moves its expiry and revocation
// entries when they changed.
func (t *tx) replace(old, next revoke.Record, gk grantKey, val []byte) error {
	k := recordKey(gk, next.ID)
	if err := t.records.Put(append([]byte(nil), k[:]...), val); err != nil {
		return err
	}
	oldExp, _ := nanos(old.ExpiresAt) // decoded from nanoseconds
	exp, _ := nanos(next.ExpiresAt)   // checked by encodeRecord
	if oldExp != exp {
		if err := t.expiry.Delete(expiryKey(oldExp, old.ID)); err != nil {
			return fmt.Errorf("expiry index: %w", err)
		}
		if err := t.expiry.Put(expiryKey(exp, next.ID), empty); err != nil {
			return fmt.Errorf("expiry index: %w", err)
		}
	}
	if old.Seq != 0 && old.Seq != next.Seq {
		if err := t.revoked.Delete(orderKey(old.Seq, old.ID)); err != nil {
			return fmt.Errorf("revocation index: %w", err)
		}
	}
	if old.Seq == next.Seq && old.Check == next.Check && oldExp == exp && old.Status == next.Status {
		return nil // the revocation entry, if any, holds
	}
	return t.putRevocation(next, exp)
}

// putRevocation writes the revocation index entry of rec, expiring at exp,
// when it is revoked.
func (t *tx) putRevocation(rec revoke.Record, exp int64) error {
	if rec.Seq == 0 {
		return nil
	}
	if err := t.revoked.Put(orderKey(rec.Seq, rec.ID), revocationValue(rec.Check, exp, rec.Status)); err != nil {
		return fmt.Errorf("revocation index: %w", err)
	}
	return nil
}

// Delete removes the stored records of ids with their index entries.
func (t *tx) Delete(_ context.Context, ids []revoke.ID) error {
	if err := t.writable("Delete"); err != nil {
		return err
	}
	for _, id := range ids {
		if err := t.delete(id); err != nil {
			return fmt.Errorf("bolt: Delete: %w", err)
		}
	}
	return nil
}

// delete removes the record whose ID is id, if stored, with its ids,
// expiry and revocation entries; the grant's last record takes the
// grant's key and owners entries with it.
func (t *tx) delete(id revoke.ID) error {
	old, gk, existed, err := t.get(id)
	if err != nil || !existed {
		return err
	}
	k := recordKey(gk, id)
	if err := t.records.Delete(k[:]); err != nil {
		return err
	}
	if err := t.ids.Delete(id[:]); err != nil {
		return fmt.Errorf("ids: %w", err)
	}
	exp, _ := nanos(old.ExpiresAt) // decoded from nanoseconds
	if err := t.expiry.Delete(expiryKey(exp, id)); err != nil {
		return fmt.Errorf("expiry index: %w", err)
	}
	if old.Seq != 0 {
		if err := t.revoked.Delete(orderKey(old.Seq, id)); err != nil {
			return fmt.Errorf("revocation index: %w", err)
		}
	}
	return t.leaveGrant(old, gk)
}

// leaveGrant keeps the grant's key and owners entries once old, of grant
// key gk, is deleted: they go with the grant's last record, and a grant
// that keeps records without its first token gets a grantkeys entry, since
// that token's ids entry no longer holds the key.
func (t *tx) leaveGrant(old revoke.Record, gk grantKey) error {
	if k, _ := t.records.Cursor().Seek(gk[:]); !hasPrefix(k, gk[:]) {
		if err := t.grants.Delete(old.Grant[:]); err != nil {
			return fmt.Errorf("grants: %w", err)
		}
		return t.deleteOwners(old)
	}
	if old.Grant == old.ID {
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
