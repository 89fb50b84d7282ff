package revoke

import "time"

// RotationPolicy is how Rotate treats a refresh token presented again after
// its rotation (see WithRotation).
type RotationPolicy struct {
	// ReuseGrace is the grace window for responses lost on the way to the
	// client: within ReuseGrace of a token's rotation, presenting that
	// token again to Rotate is not reuse, as long as it is the immediately
	// previous token of its chain (its successor was never rotated) and it
	// has had fewer than GraceRetries grace retries. It rotates again, and
	// the successor it replaces is spent from then on, without grace. Zero
	// turns grace off: any second presentation is reuse. At most
	// MaxReuseGrace.
	ReuseGrace time.Duration
	// GraceRetries bounds how many times one refresh token may be rotated
	// again within the grace window; the next presentation is reuse.
	// Between 1 and MaxGraceRetries.
	GraceRetries int
}

// DefaultRotation returns the rotation policy of a Revoker given no
// WithRotation: no grace, DefaultGraceRetries retries should grace be
// turned on.
func DefaultRotation() RotationPolicy {
	return RotationPolicy{GraceRetries: DefaultGraceRetries}
}

// WithRotation sets the rotation policy. New refuses a policy with a field
// outside its bounds (see RotationPolicy) with an error wrapping
// ErrInvalidOption. Start from DefaultRotation:
//
//	p := revoke.DefaultRotation()
//	p.ReuseGrace = 10 * time.Second
//	r, err := revoke.New(store, revoke.WithRotation(p))
func WithRotation(p RotationPolicy) Option {
	return func(o *options) { o.life.reuseGrace, o.life.graceRetries = p.ReuseGrace, p.GraceRetries }
}

// PurgePolicy is when records of expired tokens are deleted (see
// WithPurge and Revoker.Purge).
type PurgePolicy struct {
	// Grace is how long after a token's expiry its record may be purged:
	// the allowance for clock skew between the servers that check the
	// token. Between 0 and MaxPurgeGrace.
	Grace time.Duration
	// Batch is how many records one purge transaction deletes at most, so
	// that a large purge never holds the store's write lock for long.
	// Between 1 and MaxPurgeBatch.
	Batch int
	// Every, when not zero, makes the Revoker run Purge every Every in a
	// goroutine of its own (the janitor), which Close stops. Zero runs
	// nothing in the background: call Purge yourself. Zero or at least
	// MinJanitorInterval.
	Every time.Duration
}

// DefaultPurge returns the purge policy of a Revoker given no WithPurge:
// DefaultPurgeGrace, DefaultPurgeBatch, no janitor.
func DefaultPurge() PurgePolicy {
	return PurgePolicy{Grace: DefaultPurgeGrace, Batch: DefaultPurgeBatch}
}

// WithPurge sets the purge policy. New refuses a policy with a field
// outside its bounds (see PurgePolicy) with an error wrapping
// ErrInvalidOption. Start from DefaultPurge:
//
//	p := revoke.DefaultPurge()
//	p.Every = time.Minute
//	r, err := revoke.New(store, revoke.WithPurge(p))
func WithPurge(p PurgePolicy) Option {
	return func(o *options) { o.grace, o.batch, o.janitor = p.Grace, p.Batch, p.Every }
}

// FollowPolicy is how a Revoker over a store that other processes write
// (Capabilities.Shared: the sqlite and postgres backends) keeps its index
// up to date with their revocations (see WithFollow). Stores that are not
// Shared ignore it: only this process writes to them, and its own
// revocations reach the index before Revoke returns.
type FollowPolicy struct {
	// Interval bounds how stale the index may be: every Interval (and at
	// every signal of a store that notifies, see Capabilities.Notify), a
	// goroutine reads the revocations committed since the last read. Zero
	// turns the follower off: IsRevoked then reads the store for every
	// token the index does not hold, which is exact but touches the store
	// on every call. Zero or at least MinSyncInterval.
	Interval time.Duration
	// MaxLag, when not zero, makes IsRevoked fail closed: when the index
	// has not caught up with the store for longer than MaxLag (see
	// Revoker.Lag), IsRevoked returns an error wrapping ErrStale for every
	// token the index does not hold as revoked, until a catch-up succeeds.
	// A watchdog checks the lag every MaxLag/8, so the refusals start
	// between MaxLag and 9/8 of it. It suits deployments that prefer
	// refusing requests to honouring a token another replica revoked.
	// Zero, or above Interval (the lag of a healthy follower when no signal
	// comes).
	MaxLag time.Duration
}

// DefaultFollow returns the follow policy of a Revoker given no
// WithFollow: DefaultSyncInterval, no bound on the lag.
func DefaultFollow() FollowPolicy {
	return FollowPolicy{Interval: DefaultSyncInterval}
}

// WithFollow sets the follow policy. New refuses a policy with a field
// outside its bounds (see FollowPolicy) with an error wrapping
// ErrInvalidOption. Start from DefaultFollow:
//
//	p := revoke.DefaultFollow()
//	p.MaxLag = 5 * time.Second
//	r, err := revoke.New(store, revoke.WithFollow(p))
func WithFollow(p FollowPolicy) Option {
	return func(o *options) { o.syncInterval, o.maxLag = p.Interval, p.MaxLag }
}
