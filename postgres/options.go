package postgres

import (
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sdkauth/revocation/revoke"
)

// Option configures a Store opened by Open or New. An invalid one makes
// them fail with an error wrapping revoke.ErrInvalidOption.
type Option func(*options) error

// Defaults and bounds of the options.
const (
	// DefaultTablePrefix is put before the names of the Store's tables.
	DefaultTablePrefix = "revoke_"
	// DefaultLockTimeout is the default of WithLockTimeout.
	DefaultLockTimeout = 5 * time.Second
	// MaxTablePrefixLength keeps the longest name the Store derives from
	// its prefix within PostgreSQL's 63-byte identifiers.
	MaxTablePrefixLength = 40

	maxTimeout = 24 * time.Hour
)

type options struct {
	prefix, schema                        string // schema "" for the connection's current one
	lockTimeout, stmtTimeout, idleTimeout time.Duration
	reconnectMin, reconnectMax            time.Duration
	asyncCommit, readOnly                 bool
	feedConfig                            *pgx.ConnConfig
	overlap                               int // 0 (WithOverlap not given) for 1
}

func buildOptions(opts []Option) (options, error) {
	o := options{
		prefix:       DefaultTablePrefix,
		lockTimeout:  DefaultLockTimeout,
		stmtTimeout:  30 * time.Second,
		idleTimeout:  2 * time.Second,
		reconnectMin: 50 * time.Millisecond,
		reconnectMax: 5 * time.Second,
	}
	for _, opt := range opts {
		if opt == nil {
			return o, optionErr("nil Option")
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// identifier reports why name cannot be used in a table name, or nil.
func identifier(what, name string, max int) error {
	ok := len(name) <= max
	for i, c := range name {
		ok = ok && (c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9')
	}
	if !ok {
		return optionErr("%s %q: at most %d ASCII letters, digits and '_', not starting with a digit", what, name, max)
	}
	return nil
}

func between(what string, d, lo, hi time.Duration) error {
	if d < lo || d > hi {
		return optionErr("%s %v is not between %v and %v", what, d, lo, hi)
	}
	return nil
}

// WithTablePrefix sets the prefix of the Store's table and index names
// (default DefaultTablePrefix), so that two Stores can share one database.
// It may hold ASCII letters, digits and underscores, not starting with a
// digit, at most MaxTablePrefixLength of them; it may be empty. Names are
// quoted, so case matters.
func WithTablePrefix(prefix string) Option {
	return func(o *options) error {
		o.prefix = prefix
		return identifier("table prefix", prefix, MaxTablePrefixLength)
	}
}

// WithSchema puts the Store's tables in the named schema, which Open and New
// create if it does not exist, rather than the connection's current schema
// (resolved once at Open). The name follows the rules of WithTablePrefix,
// up to 63 characters, and may not be empty.
func WithSchema(schema string) Option {
	return func(o *options) error {
		o.schema = schema
		if schema == "" {
			return optionErr("empty schema")
		}
		return identifier("schema", schema, 63)
	}
}

// WithLockTimeout sets how long a statement of a write transaction waits
// for a lock another transaction holds: a token's row, its grant, or the
// revocation sequence (see "Concurrency" in the package documentation;
// default DefaultLockTimeout). A write that waited longer fails with an error
// wrapping revoke.ErrUnavailable. It must be between 1ms and 24h.
func WithLockTimeout(d time.Duration) Option {
	return func(o *options) error {
		o.lockTimeout = d
		return between("lock timeout", d, time.Millisecond, maxTimeout)
	}
}

// WithOverlap sets how many write transactions a Revoker over the Store
// runs at once (revoke.Capabilities.Overlap), each a group commit of its
// own, taking as many connections of the pool (default 1). A group commit
// already carries every write waiting when it starts, so that writers kept
// busy gain nothing from more (see BENCHMARKS.md: fewer writes per commit,
// and fewer per second); writes that arrive one by one, while a commit to a
// server far away is under way, start at once rather than wait for it. n
// must be between 1 and revoke.MaxOverlap.
func WithOverlap(n int) Option {
	return func(o *options) error {
		if n < 1 || n > revoke.MaxOverlap {
			return optionErr("overlap %d is not between 1 and %d", n, revoke.MaxOverlap)
		}
		o.overlap = n
		return nil
	}
}

// WithStatementTimeout bounds each statement the Store runs (default 30s);
// one over it fails with an error wrapping revoke.ErrUnavailable. It must
// be between 1ms and 24h, and exceed the time a Revoker takes to load
// every revocation.
func WithStatementTimeout(d time.Duration) Option {
	return func(o *options) error {
		o.stmtTimeout = d
		return between("statement timeout", d, time.Millisecond, maxTimeout)
	}
}

// WithIdleInTransactionTimeout sets how long the server waits for the next
// statement of a write transaction before it ends its session, rolling it
// back (default 2s): it bounds how long a replica that stops talking while
// it holds locks (paused, cut off) holds up the writes of other replicas
// that wait for them. Its write then fails with an error wrapping
// revoke.ErrUnavailable. It must be between 100ms (above a write
// transaction's own pauses) and 24h, and should be below the lock timeout,
// so that the writers waiting get the lock rather than fail.
func WithIdleInTransactionTimeout(d time.Duration) Option {
	return func(o *options) error {
		o.idleTimeout = d
		return between("idle in transaction timeout", d, 100*time.Millisecond, maxTimeout)
	}
}

// WithSynchronousCommitOff accepts a server or role whose synchronous_commit
// is off, or a server whose fsync is off (as test servers often run), which
// Open and New refuse otherwise, with ErrDurability: a server crash could
// then lose the last commits (with fsync off, more), bringing tokens
// revoked before it back to life.
func WithSynchronousCommitOff() Option {
	return func(o *options) error { o.asyncCommit = true; return nil }
}

// WithListenDSN sets the connection string of the change feed's own LISTEN
// connection, which otherwise is that of Open's DSN or, for New, of a
// connection of the pool: a direct connection to the server, past a
// transaction-mode pooler.
func WithListenDSN(dsn string) Option {
	return func(o *options) error {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return optionErr("listen DSN: %v", err)
		}
		o.feedConfig = cfg
		return nil
	}
}

// WithReadOnly opens the Store for reading only: nothing is created or
// written, and the role needs no privilege but reading the tables, which
// must exist (Open and New fail with ErrNotMigrated otherwise).
// synchronous_commit is not checked. View and the change feed work; Update
// returns an error wrapping revoke.ErrReadOnly, so a revoke.Revoker over
// the Store follows other processes' revocations but fails Issue, Revoke
// and Purge.
func WithReadOnly() Option {
	return func(o *options) error { o.readOnly = true; return nil }
}
