package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/sdkauth/revocation/revoke"
	bbolt "go.etcd.io/bbolt"
)

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

// Expired returns the IDs of at most limit records whose ExpiresAt is
// before before, earliest first.
func (t *tx) Expired(ctx context.Context, before time.Time, limit int) ([]revoke.ID, error) {
	if limit <= 0 {
		return nil, nil
	}
	var ids []revoke.ID
	if err := t.eachExpired(ctx, before, collect(&ids, limit)); err != nil && err != errStop {
		return nil, err
	}
	return ids, nil
}

// eachExpired calls fn with the ID of every record whose ExpiresAt is
// before before, earliest first, from the expiry index, until fn returns
// an error, which it returns.
func (t *tx) eachExpired(ctx context.Context, before time.Time, fn func(revoke.ID) error) error {
	if !before.After(minExpiry) {
		return nil
	}
	// Past maxExpiry every record qualifies.
	all, bound := before.After(maxExpiry), expiryOrder(before.UnixNano())
	c := t.expiry.Cursor()
	n := 0
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if len(k) != orderKeyLen {
			return fmt.Errorf("%w: expiry index key of %d bytes, want %d", errCorrupt, len(k), orderKeyLen)
		}
		if !all && binary.BigEndian.Uint64(k) >= bound {
			return nil
		}
		if n++; n%ctxEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("bolt: Expired: %w", err)
			}
		}
		id := revoke.ID(k[8:])
		if t.ids.Get(id[:]) == nil {
			return fmt.Errorf("%w: expiry index names a missing record %x", errCorrupt, id)
		}
		if err := fn(id); err != nil {
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
			return 0, fmt.Errorf("%w: revocation index key of %d bytes, want %d", errCorrupt, len(k), orderKeyLen)
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
	return 0, fmt.Errorf("%w: sequence counter of %d bytes, want 8", errCorrupt, len(v))
}
