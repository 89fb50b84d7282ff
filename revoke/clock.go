package revoke

import (
	"context"
	"time"
)

// StoreClock is implemented by Shared stores whose server keeps a clock of
// its own (the postgres backend: the database server's). A Revoker over
// such a store, running on the default clock (no WithClock), purges by the
// earlier of its own clock and the store's: a replica whose clock runs fast
// cannot purge records that the other replicas, and the database, still
// hold unexpired. See "Clocks" in the package documentation.
type StoreClock interface {
	// Now returns the store's current time.
	Now(ctx context.Context) (time.Time, error)
}

// purgeNow is the time Purge and the index sweep judge expiry by: the
// Revoker's clock, or the store's when it is earlier (see StoreClock).
func (r *Revoker) purgeNow(ctx context.Context) (time.Time, error) {
	now := r.opts.now()
	c, ok := r.store.(StoreClock)
	if !ok || r.opts.clockSet {
		return now, nil
	}
	theirs, err := c.Now(ctx)
	if err != nil {
		return time.Time{}, err
	}
	if theirs.Before(now) {
		return theirs, nil
	}
	return now, nil
}
