package revoke

import (
	"context"
	"fmt"
)

// statusBatch is how many entries Statuses hands fn at a time.
const statusBatch = 1024

// Statuses calls fn with the Token Status List entry (Record.Status) of
// every revoked record the store holds that has one, in batches (fn must
// not keep the slice), and returns the change log position it is complete
// up to: a reader that applies Statuses and then ChangesSince(pos), whose
// revocations carry their Status, misses no revocation, and may see one
// twice. It is how package statuslist builds its lists at start-up, and
// again when it has fallen out of the change log. It reads the store in
// one read transaction, whose callback runs fn: keep fn quick. An error
// from fn stops it and is returned.
func (r *Revoker) Statuses(ctx context.Context, fn func([]StatusRef) error) (uint64, error) {
	if r.closed.Load() {
		return 0, ErrClosed
	}
	// The head before the read: a revocation committed after the read's
	// snapshot enters the index, and so the log, after this position.
	r.changes.mu.Lock()
	r.changes.init()
	pos := r.changes.head
	r.changes.mu.Unlock()
	batch := make([]StatusRef, 0, statusBatch)
	err := r.store.View(ctx, func(tx Tx) error {
		batch = batch[:0]
		err := tx.RevokedSince(ctx, 0, func(rev Revocation) error {
			if rev.Status.IsZero() {
				return nil
			}
			batch = append(batch, rev.Status)
			if len(batch) < statusBatch {
				return nil
			}
			err := fn(batch)
			batch = batch[:0]
			return err
		})
		if err != nil || len(batch) == 0 {
			return err
		}
		return fn(batch)
	})
	if err != nil {
		return 0, fmt.Errorf("revoke: Statuses: %w", err)
	}
	return pos, nil
}
