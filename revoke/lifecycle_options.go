package revoke

import (
	"fmt"
	"time"
)

// lifecycleOptions are the options of rotation, owner revocation and
// observation.
type lifecycleOptions struct {
	reuseGrace   time.Duration
	graceRetries int
	ownerBatch   int
	observer     func(Event)
}

// Defaults and bounds of the lifecycle options.
const (
	// DefaultGraceRetries is how many grace retries one refresh token gets
	// (see RotationPolicy.GraceRetries).
	DefaultGraceRetries = 2
	// MaxReuseGrace bounds RotationPolicy.ReuseGrace: a grace window is for a lost
	// response, seconds long, never hours.
	MaxReuseGrace = 10 * time.Minute
	// MaxGraceRetries bounds RotationPolicy.GraceRetries.
	MaxGraceRetries = 100
	// DefaultOwnerBatch is how many grants one transaction of RevokeSubject
	// or RevokeClient revokes at most.
	DefaultOwnerBatch = 256
	// MaxOwnerBatch bounds WithOwnerBatch.
	MaxOwnerBatch = 100_000
)

func defaultLifecycle() lifecycleOptions {
	return lifecycleOptions{graceRetries: DefaultGraceRetries, ownerBatch: DefaultOwnerBatch}
}

// WithOwnerBatch sets how many grants one transaction of RevokeSubject or
// RevokeClient revokes at most, so that logging out a client with millions
// of tokens never holds the store in one giant transaction. A grant is
// always revoked whole, in one transaction. The default is
// DefaultOwnerBatch; n must be between 1 and MaxOwnerBatch.
func WithOwnerBatch(n int) Option {
	return func(o *options) { o.life.ownerBatch = n }
}

// WithObserver sets a function that receives one Event per operation, after
// its transaction has committed (or failed), on the goroutine of the call
// (the background goroutine for the janitor and the follower). It must be
// quick and safe for concurrent use; it may call the Revoker. Setting an
// observer also turns on the counting of IsRevoked checks in Stats. By
// default there is none.
func WithObserver(fn func(Event)) Option {
	return func(o *options) { o.life.observer = fn }
}

// check validates the lifecycle options for New.
func (l lifecycleOptions) check() error {
	switch {
	case l.reuseGrace < 0 || l.reuseGrace > MaxReuseGrace:
		return fmt.Errorf("reuse grace %v is outside [0, %v]", l.reuseGrace, MaxReuseGrace)
	case l.graceRetries < 1 || l.graceRetries > MaxGraceRetries:
		return fmt.Errorf("grace retries %d is outside [1, %d]", l.graceRetries, MaxGraceRetries)
	case l.ownerBatch < 1 || l.ownerBatch > MaxOwnerBatch:
		return fmt.Errorf("owner batch %d is outside [1, %d]", l.ownerBatch, MaxOwnerBatch)
	}
	return nil
}
