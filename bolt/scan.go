package bolt

import (
	"bytes"
	"context"
	"fmt"

	"github.com/sdkauth/revocation/revoke"
)

// Scan returns at most limit records whose ID is above after, in ascending
// ID order.
func (t *tx) Scan(ctx context.Context, after revoke.ID, limit int) ([]revoke.Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	var recs []revoke.Record
	if err := t.eachRecord(ctx, after, collect(&recs, limit)); err != nil && err != errStop {
		return nil, err
	}
	return recs, nil
}

// eachRecord calls fn for every record whose ID is above after, in
// ascending ID order, until fn returns an error, which it returns: a
// cursor over the ids bucket, which lists every record by ID, and one
// lookup of grant key ‖ ID per record.
func (t *tx) eachRecord(ctx context.Context, after revoke.ID, fn func(revoke.Record) error) error {
	c := t.ids.Cursor()
	k, v := c.Seek(after[:])
	if bytes.Equal(k, after[:]) {
		k, v = c.Next()
	}
	for n := 1; k != nil; n++ {
		if n%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("bolt: Scan: %w", err)
			}
		}
		if len(k) != idLen || len(v) != grantKeyLen {
			return fmt.Errorf("%w: ids entry of %d+%d bytes, want %d+%d", errCorrupt, len(k), len(v), idLen, grantKeyLen)
		}
		rk := recordKey(grantKey(v), revoke.ID(k))
		val := t.records.Get(rk[:])
		if val == nil {
			return fmt.Errorf("%w: ids entry names a missing record %x under grant key %x", errCorrupt, k, v)
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
