package revoke

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Option configures a Revoker.
type Option func(*options)

type options struct {
	now          func() time.Time
	grace        time.Duration
	batch        int
	janitor      time.Duration
	syncInterval time.Duration
	maxLag       time.Duration // see FollowPolicy.MaxLag in policies.go
	changeLog    int           // see WithChangeLog in changes.go
	log          *slog.Logger
	clockSet     bool                                     // WithClock was given
	tokenKey     func(token string) (key string, ok bool) // see tokenkey.go
	life         lifecycleOptions                         // rotation, owner revocation, observer
}

// Defaults of the options.
const (
	// DefaultPurgeGrace is how long after its expiry a record is kept, to
	// allow for clock skew between servers.
	DefaultPurgeGrace = 5 * time.Minute
	// DefaultPurgeBatch is how many records one purge transaction deletes.
	DefaultPurgeBatch = 1000
	// DefaultSyncInterval bounds how stale the index may be for revocations
	// that other processes commit to a shared store.
	DefaultSyncInterval = time.Second
)

// Bounds of the options; New refuses values outside them with an error
// wrapping ErrInvalidOption.
const (
	// MaxPurgeGrace is the longest purge grace (PurgePolicy.Grace).
	MaxPurgeGrace = 366 * 24 * time.Hour
	// MaxPurgeBatch is the largest purge batch (PurgePolicy.Batch).
	MaxPurgeBatch = 100_000
	// MinJanitorInterval is the shortest janitor interval (PurgePolicy.Every).
	MinJanitorInterval = time.Second
	// MinSyncInterval is the shortest sync interval but zero
	// (FollowPolicy.Interval).
	MinSyncInterval = time.Millisecond
)

// validate checks every option against its bounds.
func (o *options) validate() error {
	switch {
	case o.now == nil:
		return errors.New("nil clock (WithClock)")
	case o.log == nil:
		return errors.New("nil logger (WithLogger)")
	case o.grace < 0 || o.grace > MaxPurgeGrace:
		return fmt.Errorf("purge grace %v is outside [0, %v] (PurgePolicy.Grace)", o.grace, MaxPurgeGrace)
	case o.batch < 1 || o.batch > MaxPurgeBatch:
		return fmt.Errorf("purge batch %d is outside [1, %d] (PurgePolicy.Batch)", o.batch, MaxPurgeBatch)
	case o.janitor != 0 && o.janitor < MinJanitorInterval:
		return fmt.Errorf("janitor interval %v is neither 0 nor at least %v (PurgePolicy.Every)", o.janitor, MinJanitorInterval)
	case o.syncInterval != 0 && o.syncInterval < MinSyncInterval:
		return fmt.Errorf("sync interval %v is neither 0 nor at least %v (FollowPolicy.Interval)", o.syncInterval, MinSyncInterval)
	}
	if err := o.life.check(); err != nil {
		return err
	}
	if err := checkChangeLog(o.changeLog); err != nil {
		return err
	}
	return checkFeedOptions(o)
}

func defaultOptions() options {
	return options{
		now:          time.Now,
		grace:        DefaultPurgeGrace,
		batch:        DefaultPurgeBatch,
		syncInterval: DefaultSyncInterval,
		changeLog:    DefaultChangeLog,
		log:          slog.New(slog.DiscardHandler),
		life:         defaultLifecycle(),
	}
}

// WithClock sets the clock the Revoker judges expiry by. Tests use it to
// move time; the default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now, o.clockSet = now, true }
}

// WithLogger sets the logger for background work (janitor, follower). By
// default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}
