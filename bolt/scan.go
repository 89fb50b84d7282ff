package bolt

import (
	"bytes"
	"context"
	"fmt"

	"github.com/sdkauth/revocation/revoke"
)

// Scan calls fn for at most limit records whose ID is above after, in
// ascending ID order.
//
// Records are keyed by grant ‖ ID, so no single bucket lists them by ID.
// Two sorted streams do, and Scan merges them:
//
//   - the tokens that start their grant (Grant == ID, most tokens) are the
//     records keys ID ‖ ID, which appear in the records bucket in ID order;
//     a cursor from after ‖ after reads them, stepping over the other
//     members of each grant that sit between them;
//   - the other tokens are the members bucket, keyed by ID, whose value
//     names the grant: one lookup of grant ‖ ID each.
//
// A page of n records thus costs one pass over a stretch of the records
// bucket (plus the members it steps over) and one point lookup per member
// returned: no index is added, and Issue pays nothing for Scan.
func (t *tx) Scan(ctx context.Context, after revoke.ID, limit int, fn func(revoke.Record) error) error {
	if limit <= 0 {
		return nil
	}
	roots := t.records.Cursor()
	members := t.members.Cursor()

	// nextRoot returns the next key ID ‖ ID at or after k, or nil.
	nextRoot := func(k, v []byte) ([]byte, []byte) {
		for ; k != nil; k, v = roots.Next() {
			if len(k) == recordKeyLen && bytes.Equal(k[:idLen], k[idLen:]) {
				return k, v
			}
		}
		return nil, nil
	}
	// Start after after ‖ after: the roots and members whose ID is above
	// after. (Keys after ‖ x with x > after belong to after's grant, not
	// to roots above after; nextRoot steps over them.)
	start := recordKey(after, after)
	rk, rv := roots.Seek(start)
	if bytes.Equal(rk, start) {
		rk, rv = roots.Next()
	}
	rk, rv = nextRoot(rk, rv)
	mk, mv := members.Seek(after[:])
	if bytes.Equal(mk, after[:]) {
		mk, mv = members.Next()
	}

	for n := 0; n < limit; n++ {
		if n%ctxEvery == ctxEvery-1 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("bolt: Scan: %w", err)
			}
		}
		var rec revoke.Record
		switch {
		case rk == nil && mk == nil:
			return nil
		case mk == nil || rk != nil && bytes.Compare(rk[idLen:], mk) < 0:
			r, err := decodeStored(rk, rv)
			if err != nil {
				return err
			}
			rec = r
			rk, rv = nextRoot(roots.Next())
		default:
			if len(mk) != idLen || len(mv) != idLen {
				return fmt.Errorf("%w: members entry of %d+%d bytes, want %d+%d", ErrCorrupt, len(mk), len(mv), idLen, idLen)
			}
			r, found, err := t.stored(revoke.ID(mv), revoke.ID(mk))
			if err != nil {
				return err
			}
			if !found {
				return fmt.Errorf("%w: members entry names a missing record %x of grant %x", ErrCorrupt, mk, mv)
			}
			rec = r
			mk, mv = members.Next()
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}
