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
	// next statement of a write transaction, which holds the write lock,
	// before it ends the transaction's session (see
	// WithIdleInTransactionTimeout): below DefaultLockTimeout, so that the
	// writers a paused replica holds up get the lock rather than fail.
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
	// takes: a write transaction's own pauses between statements (a
	// garbage collection, a busy machine) must not reach it.
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
// (default DefaultTablePrefix), so that the tables can sit beside an
// application's own and two Stores can share one database. The prefix may
// hold ASCII letters, digits and underscores, must not start with a digit,
// and is at most MaxTablePrefixLength long; it may be empty. Names are
// quoted, so case matters. Open and New return an error wrapping ErrOption
// for any other prefix.
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
// create if it does not exist. By default they go in the connection's
// current schema (the first of its search_path, usually public), resolved
// once at Open. The name follows the rules of WithTablePrefix, up to 63
// characters, and may not be empty.
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
// DefaultStatementTimeout). A statement over it fails with an error wrapping
// revoke.ErrUnavailable and its transaction rolls back. It must be between
// 1ms and 24h, and should exceed the time New takes to load every
// revocation.
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
// statement of a write transaction before it ends the transaction's
// session, rolling it back (default DefaultIdleInTransactionTimeout; it is
// the transaction's idle_in_transaction_session_timeout). A write
// transaction holds the write lock that the writers of every process take
// in turn: this bounds how long a replica that stops talking while it
// holds the lock (its process or virtual machine paused, its network path
// dead) holds up every other replica's writes. The paused replica's write
// then fails, with an error wrapping revoke.ErrUnavailable, and is not
// committed. It must be between MinIdleInTransactionTimeout and 24h, and
// should be below the lock timeout (WithLockTimeout), so that the writers
// waiting get the lock rather than fail.
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
// is off. Open and New refuse one otherwise, with ErrDurability: with it
// off, PostgreSQL acknowledges a commit before its WAL reaches disk, and a
// server crash can lose the last few hundred milliseconds of commits, so
// that tokens revoked just before it come back as live. Give this option
// only if that is acceptable.
func WithSynchronousCommitOff() Option {
	return func(o *options) { o.asyncCommit = true }
}

// WithFeedConfig sets the connection configuration of the change feed's own
// connection (the LISTEN connection, see Store.Notify), for a Store made by
// New. By default New takes the configuration of a connection of the
// application's pool, which must then be a pgx stdlib pool. Open uses its
// DSN and ignores this option. cfg is copied.
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

// WithReadOnly opens the Store for reading only, as bolt.WithReadOnly does
// for a bbolt file: nothing is created, migrated or written, and the role
// needs no privilege but reading the tables. They must already exist at
// this package's schema version: Open and New fail with an error wrapping
// ErrNotMigrated (and ErrReadOnly) when the prefix's tables (or the schema,
// see WithSchema) are missing or at an older version, and with ErrVersion
// at a newer one. Since a read-only Store acknowledges no write, Open and
// New do not check synchronous_commit (see WithSynchronousCommitOff). View
// and Notify work; Update returns an error wrapping ErrReadOnly, so a
// revoke.Revoker over the Store answers IsRevoked, following other
// processes' revocations as usual, but fails Issue, Revoke and Purge.
func WithReadOnly() Option {
	return func(o *options) { o.readOnly = true }
}
