package postgres

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Option configures a Store opened by Open or New.
type Option func(*options)

// Defaults of the options.
const (
	// DefaultTablePrefix is put before the names of the tables the Store
	// keeps: revoke_tokens and revoke_meta.
	DefaultTablePrefix = "revoke_"
	// DefaultLockTimeout is how long a write transaction waits for the
	// Store's write lock, which writers of every process take in turn.
	DefaultLockTimeout = 5 * time.Second
	// DefaultStatementTimeout bounds each statement of a transaction.
	DefaultStatementTimeout = 30 * time.Second
	// DefaultMaxConns is the size of the pool Open makes.
	DefaultMaxConns = 8
	// DefaultIdleInTransactionTimeout is how long the server waits for the
	// next statement of a write transaction before it ends its session
	// (see WithIdleInTransactionTimeout): below DefaultLockTimeout.
	DefaultIdleInTransactionTimeout = 2 * time.Second
)

// Bounds of the options.
const (
	// MaxTablePrefixLength keeps the longest name the Store derives from
	// its prefix within PostgreSQL's 63-byte identifiers.
	MaxTablePrefixLength = 40
	maxIdentLen          = 63
	maxTimeout           = 24 * time.Hour
	maxConnsLimit        = 1024
	// MinIdleInTransactionTimeout is the least WithIdleInTransactionTimeout
	// takes, above a write transaction's own pauses between statements.
	MinIdleInTransactionTimeout = 100 * time.Millisecond
)

type options struct {
	prefix       string
	schema       string // "" for the connection's current schema
	lockTimeout  time.Duration
	stmtTimeout  time.Duration
	idleTimeout  time.Duration
	maxConns     int
	asyncCommit  bool
	readOnly     bool
	feedConfig   *pgx.ConnConfig
	reconnectMin time.Duration
	reconnectMax time.Duration
	err          error // the first invalid option
}

func defaultOptions() options {
	return options{
		prefix:       DefaultTablePrefix,
		lockTimeout:  DefaultLockTimeout,
		stmtTimeout:  DefaultStatementTimeout,
		idleTimeout:  DefaultIdleInTransactionTimeout,
		maxConns:     DefaultMaxConns,
		reconnectMin: 50 * time.Millisecond,
		reconnectMax: 5 * time.Second,
	}
}

func buildOptions(opts []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			return o, fmt.Errorf("%w: nil Option", ErrOption)
		}
		opt(&o)
	}
	return o, o.err
}

func (o *options) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

// identifier reports why name cannot be used in a table name, or nil: it
// may hold ASCII letters, digits and underscores, must not start with a
// digit, and is at most max bytes long.
func identifier(what, name string, max int) error {
	if len(name) > max {
		return fmt.Errorf("%w: %s %q is longer than %d characters", ErrOption, what, name, max)
	}
	for i, c := range name {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return fmt.Errorf("%w: %s %q: only ASCII letters, digits and '_', not starting with a digit, are allowed", ErrOption, what, name)
		}
	}
	return nil
}

// WithTablePrefix sets the prefix of the Store's table and index names
// (default DefaultTablePrefix), so that two Stores can share one database.
// It may hold ASCII letters, digits and underscores, not starting with a
// digit, at most MaxTablePrefixLength of them; it may be empty. Names are
// quoted, so case matters.
func WithTablePrefix(prefix string) Option {
	return func(o *options) {
		if err := identifier("table prefix", prefix, MaxTablePrefixLength); err != nil {
			o.fail(err)
			return
		}
		o.prefix = prefix
	}
}

// WithSchema puts the Store's tables in the named schema, which Open and New
// create if it does not exist, rather than the connection's current schema
// (resolved once at Open). The name follows the rules of WithTablePrefix,
// up to 63 characters, and may not be empty.
func WithSchema(schema string) Option {
	return func(o *options) {
		if schema == "" {
			o.fail(fmt.Errorf("%w: empty schema", ErrOption))
			return
		}
		if err := identifier("schema", schema, maxIdentLen); err != nil {
			o.fail(err)
			return
		}
		o.schema = schema
	}
}

func timeout(what string, d time.Duration) error {
	if d < time.Millisecond || d > maxTimeout {
		return fmt.Errorf("%w: %s %v is not between 1ms and %v", ErrOption, what, d, maxTimeout)
	}
	return nil
}

// WithLockTimeout sets how long a write transaction waits for the Store's
// write lock, which the writers of every process take in turn (default
// DefaultLockTimeout). A write that waited longer fails with an error
// wrapping revoke.ErrUnavailable. It must be between 1ms and 24h.
func WithLockTimeout(d time.Duration) Option {
	return func(o *options) {
		if err := timeout("lock timeout", d); err != nil {
			o.fail(err)
			return
		}
		o.lockTimeout = d
	}
}

// WithStatementTimeout bounds each statement the Store runs (default
// DefaultStatementTimeout); one over it fails with an error wrapping
// revoke.ErrUnavailable. It must be between 1ms and 24h, and exceed the
// time a Revoker takes to load every revocation.
func WithStatementTimeout(d time.Duration) Option {
	return func(o *options) {
		if err := timeout("statement timeout", d); err != nil {
			o.fail(err)
			return
		}
		o.stmtTimeout = d
	}
}

// WithIdleInTransactionTimeout sets how long the server waits for the next
// statement of a write transaction before it ends its session, rolling it
// back (default DefaultIdleInTransactionTimeout): it bounds how long a
// replica that stops talking while it holds the write lock (paused, cut
// off) holds up every other replica's writes. Its write then fails with an
// error wrapping revoke.ErrUnavailable. It must be between
// MinIdleInTransactionTimeout and 24h, and should be below the lock
// timeout, so that the writers waiting get the lock rather than fail.
func WithIdleInTransactionTimeout(d time.Duration) Option {
	return func(o *options) {
		if d < MinIdleInTransactionTimeout || d > maxTimeout {
			o.fail(fmt.Errorf("%w: idle in transaction timeout %v is not between %v and %v", ErrOption, d, MinIdleInTransactionTimeout, maxTimeout))
			return
		}
		o.idleTimeout = d
	}
}

// WithMaxConns sets how many connections the pool Open makes may hold
// (default DefaultMaxConns), between 2 and 1024; New ignores it, the pool
// being the application's. The change feed uses a connection of its own
// besides.
func WithMaxConns(n int) Option {
	return func(o *options) {
		if n < 2 || n > maxConnsLimit {
			o.fail(fmt.Errorf("%w: max conns %d is not between 2 and %d", ErrOption, n, maxConnsLimit))
			return
		}
		o.maxConns = n
	}
}

// WithSynchronousCommitOff accepts a server or role whose synchronous_commit
// is off, which Open and New refuse otherwise, with ErrDurability: a server
// crash could then lose the last commits, bringing tokens revoked just
// before it back to life.
func WithSynchronousCommitOff() Option {
	return func(o *options) { o.asyncCommit = true }
}

// WithFeedConfig sets the configuration of the change feed's own LISTEN
// connection for a Store made by New, which otherwise takes that of a
// connection of its pool, if it is pgx's. Open ignores it. cfg is copied.
func WithFeedConfig(cfg *pgx.ConnConfig) Option {
	return func(o *options) {
		if cfg == nil {
			o.fail(fmt.Errorf("%w: nil feed config", ErrOption))
			return
		}
		o.feedConfig = cfg.Copy()
	}
}

// WithListenDSN is WithFeedConfig from a connection string.
func WithListenDSN(dsn string) Option {
	return func(o *options) {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			o.fail(fmt.Errorf("%w: listen DSN: %w", ErrOption, err))
			return
		}
		o.feedConfig = cfg
	}
}

// WithReconnectBackoff sets the delays between the change feed's attempts
// to reconnect: the first is min, each next one doubles up to max (defaults
// 50ms and 5s). Both must be between 1ms and 24h, min at most max.
func WithReconnectBackoff(min, max time.Duration) Option {
	return func(o *options) {
		if err := timeout("reconnect backoff", min); err != nil {
			o.fail(err)
			return
		}
		if err := timeout("reconnect backoff", max); err != nil {
			o.fail(err)
			return
		}
		if min > max {
			o.fail(fmt.Errorf("%w: reconnect backoff min %v above max %v", ErrOption, min, max))
			return
		}
		o.reconnectMin, o.reconnectMax = min, max
	}
}

// WithReadOnly opens the Store for reading only: nothing is created,
// migrated or written, and the role needs no privilege but reading the
// tables, which must exist at this package's schema version (Open and New
// fail with ErrNotMigrated, wrapping ErrReadOnly, otherwise, and with
// ErrVersion at a newer one). synchronous_commit is not checked. View and
// the change feed work; Update returns an error wrapping ErrReadOnly, so a
// revoke.Revoker over the Store follows other processes' revocations but
// fails Issue, Revoke and Purge.
func WithReadOnly() Option {
	return func(o *options) { o.readOnly = true }
}
