package mysql

import (
	"fmt"
	"time"
)

// Option configures a Store opened by Open or New.
type Option func(*options)

// Defaults and bounds of the options.
const (
	// DefaultTablePrefix is put before the names of the Store's tables:
	// revoke_tokens, revoke_owners and revoke_meta.
	DefaultTablePrefix = "revoke_"
	// DefaultLockTimeout is how long a write transaction waits for the
	// write lock, which writers of every process take in turn.
	DefaultLockTimeout = 5 * time.Second
	// DefaultStatementTimeout bounds each statement of a transaction.
	DefaultStatementTimeout = 30 * time.Second
	// MaxTablePrefixLength keeps the table names within the server's 64
	// characters.
	MaxTablePrefixLength = 48
)

type options struct {
	prefix                   string
	lockTimeout, stmtTimeout time.Duration
	relaxed                  bool
	err                      error // the first invalid option
}

func buildOptions(opts []Option) (options, error) {
	o := options{prefix: DefaultTablePrefix, lockTimeout: DefaultLockTimeout, stmtTimeout: DefaultStatementTimeout}
	for _, opt := range opts {
		if opt == nil {
			return o, fmt.Errorf("%w: nil Option", ErrOption)
		}
		opt(&o)
	}
	return o, o.err
}

func (o *options) fail(format string, args ...any) {
	if o.err == nil {
		o.err = fmt.Errorf("%w: "+format, append([]any{ErrOption}, args...)...)
	}
}

// within returns d, failing when it is not between least and 24h.
func (o *options) within(what string, d, least time.Duration) time.Duration {
	if d < least || d > 24*time.Hour {
		o.fail("%s %v is not between %v and 24h", what, d, least)
	}
	return d
}

// WithTablePrefix sets the prefix of the Store's table names (default
// DefaultTablePrefix), so that the tables can sit beside an application's
// own and several Stores can share one database. It may hold lowercase
// ASCII letters, digits and '_' (lowercase: the names are the same
// whatever the server's lower_case_table_names), up to
// MaxTablePrefixLength; it may be empty. Open and New return an error
// wrapping ErrOption for any other prefix.
func WithTablePrefix(prefix string) Option {
	return func(o *options) {
		for _, c := range prefix {
			if c != '_' && (c < 'a' || c > 'z') && (c < '0' || c > '9') || len(prefix) > MaxTablePrefixLength {
				o.fail("table prefix %q: want at most %d lowercase ASCII letters, digits and '_'", prefix, MaxTablePrefixLength)
				return
			}
		}
		o.prefix = prefix
	}
}

// WithLockTimeout sets how long a write transaction waits for the write
// lock (default DefaultLockTimeout), between 1s and 24h; the server counts
// it in whole seconds (innodb_lock_wait_timeout), so d is rounded up. A
// write that waited longer fails with an error wrapping
// revoke.ErrUnavailable. Open and New wait as long for the migration lock.
func WithLockTimeout(d time.Duration) Option {
	return func(o *options) {
		o.lockTimeout = o.within("lock timeout", d, time.Second)
	}
}

// WithStatementTimeout bounds each statement the Store runs (default
// DefaultStatementTimeout), between 1ms and 24h. The Store closes the
// connection of a statement over it, which rolls its transaction back, and
// returns an error wrapping revoke.ErrUnavailable. It should exceed the
// time a Revoker's start takes to load every revocation.
func WithStatementTimeout(d time.Duration) Option {
	return func(o *options) {
		o.stmtTimeout = o.within("statement timeout", d, time.Millisecond)
	}
}

// WithRelaxedDurability accepts a server that acknowledges commits before
// they are on disk: innodb_flush_log_at_trx_commit other than 1, or the
// binary log on with sync_binlog other than 1. Open and New refuse one
// otherwise, with ErrDurability: a server crash could lose the last second
// of commits, and tokens revoked just before it would come back as live.
func WithRelaxedDurability() Option {
	return func(o *options) { o.relaxed = true }
}
