package revoke

import (
	"context"
	"time"
)

// purgeNow is the time Purge and the index sweep judge expiry by: the
// Revoker's clock, or the store's when it is earlier (see
// Capabilities.Clock).
func (r *Revoker) purgeNow(ctx context.Context) (time.Time, error) {
	now := r.opts.now()
	if r.caps.Clock == nil || r.opts.clockSet {
		return now, nil
	}
	theirs, err := r.caps.Clock(ctx)
	if err != nil {
		return time.Time{}, err
	}
	if theirs.Before(now) {
		return theirs, nil
	}
	return now, nil
}
