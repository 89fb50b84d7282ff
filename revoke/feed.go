package revoke

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// ErrStale is wrapped by the error IsRevoked returns, for a token the index
// does not hold as revoked, when the Revoker was given FollowPolicy.MaxLag and its
// index has not caught up with the store for longer than that bound: the
// token may have been revoked by another process meanwhile. The HTTP
// middleware answers it with 503.
var ErrStale = errors.New("revoke: revocation index is stale")

// errStale is what IsRevoked returns when the index is stale: made once,
// so that the answer does not allocate.
var errStale = fmt.Errorf("revoke: IsRevoked: %w (it has not caught up with the store within the bound of FollowPolicy.MaxLag)", ErrStale)

// checkFeedOptions validates the options of the follower.
func checkFeedOptions(o *options) error {
	switch {
	case o.maxLag < 0:
		return fmt.Errorf("negative max lag %v (FollowPolicy.MaxLag)", o.maxLag)
	case o.maxLag > 0 && o.maxLag <= o.syncInterval:
		return fmt.Errorf("max lag %v is not above the sync interval %v (FollowPolicy)", o.maxLag, o.syncInterval)
	}
	return nil
}

// follower is the state of the goroutine that keeps the index of a Revoker
// over a Shared store up to date.
type follower struct {
	base   time.Time    // the origin of synced, with its monotonic clock
	synced atomic.Int64 // start of the last successful catch-up, in ns since base; -1 before the first
	stale  atomic.Bool  // set by the watchdog when the lag exceeds the max lag
	on     bool         // the store is Shared and its index is followed
}

// Lag returns how far behind the store the in-memory index may be: the time
// since the start of the last successful catch-up with the revocations
// other processes committed. It is 0 for a store that is not Shared (only
// this process writes to it, and its revocations reach the index before
// Revoke returns) and for a Shared store read through on every call
// (FollowPolicy.Interval 0). A healthy follower keeps it below the sync
// interval; it grows while the store is unreachable.
func (r *Revoker) Lag() time.Duration {
	if !r.follow.on {
		return 0
	}
	return time.Since(r.follow.base) - time.Duration(r.follow.synced.Load())
}

// catchUp syncs the index and, when that succeeds, records when it started
// and clears the stale flag.
func (r *Revoker) catchUp(ctx context.Context) error {
	start := time.Since(r.follow.base)
	if err := r.sync(ctx); err != nil {
		return err
	}
	r.shed()
	r.follow.synced.Store(int64(start))
	if r.opts.maxLag > 0 && r.follow.stale.Load() && time.Since(r.follow.base)-start <= r.opts.maxLag {
		r.follow.stale.Store(false)
	}
	return nil
}

// startFollower starts the goroutine that catches up on every signal of a
// store that notifies (Capabilities.Notify) and every sync interval, and, with FollowPolicy.MaxLag, the
// watchdog that keeps the stale flag.
func (r *Revoker) startFollower() {
	r.follow.on = true
	r.follow.base = time.Now()
	r.follow.synced.Store(0) // New has just synced
	var signals <-chan struct{}
	if r.caps.Notify != nil {
		ch, err := r.caps.Notify(r.bg)
		if err != nil {
			r.opts.log.Error("revoke: the store's change feed is unavailable; following by polling only", "err", err)
		} else {
			signals = ch
		}
	}
	r.wg.Add(1)
	go r.followLoop(signals)
	if r.opts.maxLag > 0 {
		r.every(max(r.opts.maxLag/8, time.Millisecond), "lag watchdog", r.watchLag)
	}
}

// followLoop catches up on every signal and every sync interval until
// Close.
func (r *Revoker) followLoop(signals <-chan struct{}) {
	defer r.wg.Done()
	t := time.NewTicker(r.opts.syncInterval)
	defer t.Stop()
	for {
		select {
		case <-r.bg.Done():
			return
		case _, ok := <-signals:
			if !ok {
				signals = nil // the feed ended: polling goes on
				continue
			}
		case <-t.C:
		}
		if err := r.catchUp(r.bg); err != nil && r.bg.Err() == nil {
			r.opts.log.Error("revoke: background follow failed", "err", err)
		}
	}
}

// watchLag keeps the stale flag of FollowPolicy.MaxLag.
func (r *Revoker) watchLag(context.Context) error {
	stale := r.Lag() > r.opts.maxLag
	if stale != r.follow.stale.Load() {
		r.follow.stale.Store(stale)
		if stale {
			r.opts.log.Warn("revoke: index is stale; IsRevoked fails closed", "lag", r.Lag())
		}
	}
	// A catch-up that ended between the reading of the lag and the Store
	// above found the flag clear and left it: look again.
	if stale && r.Lag() <= r.opts.maxLag {
		r.follow.stale.Store(false)
	}
	return nil
}
