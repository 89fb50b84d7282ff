package bolt

import (
	"bytes"
	"context"
	"fmt"

	"github.com/sdkauth/revocation/revoke"
)

// Scan calls fn for at most limit records whose ID is above after, in
// ascending ID order: a cursor over the ids bucket, which lists every
// record by ID, and one lookup of grant key ‖ ID per record.
func (t *tx) Scan(ctx context.Context, after revoke.ID, limit int, fn func(revoke.Record) error) error {
	if limit <= 0 {
		return nil
	}
	c := t.ids.Cursor()
	k, v := c.Seek(after[:])
	if bytes.Equal(k, after[:]) {
		k, v = c.Next()
	}
	for n := 0; n < limit && k != nil; n++ {
		if n%ctxEvery == ctxEvery-1 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("bolt: Scan: %w", err)
			}
		}
		if len(k) != idLen || len(v) != grantKeyLen {
			return fmt.Errorf("%w: ids entry of %d+%d bytes, want %d+%d", ErrCorrupt, len(k), len(v), idLen, grantKeyLen)
		}
		rk := recordKey(grantKey(v), revoke.ID(k))
		val := t.records.Get(rk[:])
		if val == nil {
			return fmt.Errorf("%w: ids entry names a missing record %x under grant key %x", ErrCorrupt, k, v)
		}
		rec, err := decodeStored(rk[:], val)
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
		k, v = c.Next()
	}
	return nil
}
