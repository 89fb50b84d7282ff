package bolt

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/sdkauth/revocation/revoke"
	bbolt "go.etcd.io/bbolt"
)

// RevokeGrants sets Seq to seq on the live records of grants: per grant,
// the records read in one cursor run over its key, then each live one
// rewritten with its revocation entry.
func (t *tx) RevokeGrants(ctx context.Context, seq uint64, grants []revoke.ID) ([]revoke.Revocation, error) {
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
		var live []revoke.Record
		gk, err := t.eachInGrant(ctx, g, func(rec revoke.Record) error {
			if !rec.Revoked() {
				live = append(live, rec)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("bolt: RevokeGrants: %w", err)
		}
		// Written after the cursor's run: bbolt cursors do not survive
		// writes to their bucket.
		for _, old := range live {
			next := old
			next.Seq = seq
			val, err := encodeRecord(nil, next)
			if err == nil {
				err = t.replace(old, next, gk, val)
			}
			if err != nil {
				return nil, fmt.Errorf("bolt: RevokeGrants: %w", err)
			}
			revs = append(revs, next.Revocation())
		}
	}
	if err := t.raiseSeq(seq); err != nil { // as a Put of a record at seq would
		return nil, fmt.Errorf("bolt: RevokeGrants: %w", err)
	}
	return revs, nil
}

// eachInGrant calls fn for every stored record of grant, in ID order, and
// returns the grant's key. They are the records whose keys start with the
// grant's key: one run of adjacent keys, read with one cursor, without a
// lookup per member.
func (t *tx) eachInGrant(ctx context.Context, grant revoke.ID, fn func(revoke.Record) error) (grantKey, error) {
	gk, found, err := t.grantKeyOf(grant)
	if err != nil || !found {
		return gk, err
	}
	c := t.records.Cursor()
	n := 0
	for k, v := c.Seek(gk[:]); hasPrefix(k, gk[:]); k, v = c.Next() {
		if n++; n%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return gk, err
			}
		}
		rec, err := decodeStored(k, v)
		if err != nil {
			return gk, err
		}
		if rec.Grant != grant {
			return gk, fmt.Errorf("%w: record %s of grant %s is stored under the key of grant %s", errCorrupt, rec.ID, rec.Grant, grant)
		}
		if err := fn(rec); err != nil {
			return gk, err
		}
	}
	return gk, nil
}

// The owners bucket indexes grants by subject and by client for GrantsOf:
//
//	owner ‖ SHA-256(subject or client) ‖ grant ID → empty
//
// owner being 1 (subject) or 2 (client), as revoke.Owner. The digest gives
// keys a fixed length, within bbolt's key size limit whatever the length of
// a subject or client, and the grant last makes an owner's grants one
// ascending run. There is one entry per owner of a grant, not per record:
// every record of a grant has the grant's subject and client (see
// revoke.Store), so the grant's first record put writes the entries, and
// its last record deleted removes them.

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

// putOwners writes the owners entries of rec's grant.
func (t *tx) putOwners(rec revoke.Record) error {
	for _, o := range ownersOf(rec) {
		if err := t.owners.Put(ownerKey(o.by, o.key, rec.Grant), empty); err != nil {
			return fmt.Errorf("owners index: %w", err)
		}
	}
	return nil
}

// deleteOwners removes the owners entries of rec's grant.
func (t *tx) deleteOwners(rec revoke.Record) error {
	for _, o := range ownersOf(rec) {
		if err := t.owners.Delete(ownerKey(o.by, o.key, rec.Grant)); err != nil {
			return fmt.Errorf("owners index: %w", err)
		}
	}
	return nil
}

// checkOwner returns an error for an owner GrantsOf does not know, and
// false when by and key report nothing (an empty subject).
func checkOwner(by revoke.Owner, key string) (bool, error) {
	if by != revoke.BySubject && by != revoke.ByClient {
		return false, fmt.Errorf("bolt: GrantsOf: unknown owner %v", by)
	}
	return by == revoke.ByClient || key != "", nil
}

// GrantsOf returns at most limit grants of the subject or client key above
// after, in ascending order: one cursor seek, then one step per grant
// reported, never a scan of the store.
func (t *tx) GrantsOf(ctx context.Context, by revoke.Owner, key string, after revoke.ID, limit int) ([]revoke.ID, error) {
	if ok, err := checkOwner(by, key); err != nil || !ok || limit <= 0 {
		return nil, err
	}
	var ids []revoke.ID
	if err := t.eachOwned(ctx, owned{by, key}, after, collect(&ids, limit)); err != nil && err != errStop {
		return nil, err
	}
	return ids, nil
}

// eachOwned calls fn with the grants of owner o above after, in ascending
// order, from the owners index, until fn returns an error, which it
// returns.
func (t *tx) eachOwned(ctx context.Context, o owned, after revoke.ID, fn func(revoke.ID) error) error {
	from, ok := nextID(after)
	if !ok {
		return nil
	}
	prefix := ownerPrefix(o.by, o.key)
	c := t.owners.Cursor()
	n := 0
	for k, _ := c.Seek(append(prefix[:len(prefix):len(prefix)], from[:]...)); hasPrefix(k, prefix); k = nextKey(c) {
		if n++; n%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("bolt: GrantsOf: %w", err)
			}
		}
		if len(k) != len(prefix)+idLen {
			return fmt.Errorf("%w: owners key of %d bytes, want %d", errCorrupt, len(k), len(prefix)+idLen)
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
