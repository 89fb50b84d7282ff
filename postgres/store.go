package postgres

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
)

// Store is a revoke.Store in PostgreSQL tables, which any number of
// processes share. It is safe for concurrent use. Create one with Open or
// New; the zero Store is not usable, and its methods return an error.
type Store struct {
	db    *sqlx.DB
	owned bool // Open made db; Close closes it
	opts  options
	q     queries

	// beginWrite and beginRead open a transaction, set its timeouts and,
	// for a write, take the Store's advisory lock: one round trip each.
	beginWrite, beginRead string
	channel               string // the NOTIFY channel

	feed *feed // nil when no connection config for the feed is known

	// mu is held for reading by every transaction and for writing by
	// Close, which so waits for the transactions under way.
	mu     sync.RWMutex
	closed bool
}

var _ revoke.Store = (*Store)(nil)

// Open connects to the PostgreSQL server of dsn (a URL or a key=value
// string, as pgx reads it), creates or migrates the Store's tables, and
// returns a Store that owns its connection pool: Close closes it. The change
// feed's connection uses the same DSN.
//
// Open returns an error wrapping ErrOption for an invalid option or DSN,
// revoke.ErrUnavailable when the server cannot be reached, ErrPermission
// when the role may not create or use the tables, ErrVersion for tables a
// newer release has migrated, and ErrDurability when the server commits with
// synchronous_commit off (see WithSynchronousCommitOff). WithReadOnly
// opens existing tables for reading, and fails with ErrNotMigrated rather
// than create or migrate them.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: DSN: %w", ErrOption, err)
	}
	db := sqlx.NewDb(stdlib.OpenDB(*cfg), "pgx")
	db.SetMaxOpenConns(o.maxConns)
	db.SetMaxIdleConns(o.maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s, err := newStore(ctx, db, true, cfg, o)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// New returns a Store whose tables live in the database of db, an
// application's pool opened with pgx's database/sql driver
// (github.com/jackc/pgx/v5/stdlib), creating or migrating them if needed
// (WithReadOnly: neither).
// The Store does not own db: Close leaves it open. Give each Store in one
// schema its own prefix (WithTablePrefix).
//
// The change feed needs a connection of its own, outside the pool: New
// takes its configuration from a connection of db, unless WithFeedConfig or
// WithListenDSN gives one. For a pool of another driver without either,
// the Store works but Notify fails, and a revoke.Revoker over it follows
// other processes by polling alone. New returns the errors Open does.
func New(ctx context.Context, db *sqlx.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: nil *sqlx.DB", ErrOption)
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	cfg := o.feedConfig
	if cfg == nil {
		cfg, err = poolConfig(ctx, db)
		if err != nil {
			return nil, err
		}
	}
	return newStore(ctx, db, false, cfg, o)
}

// poolConfig returns the connection configuration of a connection of db, or
// nil when db is not a pgx pool.
func poolConfig(ctx context.Context, db *sqlx.DB) (*pgx.ConnConfig, error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, wrapf(err, "connecting")
	}
	defer c.Close()
	var cfg *pgx.ConnConfig
	err = c.Raw(func(dc any) error {
		if pc, ok := dc.(*stdlib.Conn); ok {
			cfg = pc.Conn().Config()
		}
		return nil
	})
	if err != nil {
		return nil, wrapf(err, "reading the connection configuration")
	}
	return cfg, nil
}

func newStore(ctx context.Context, db *sqlx.DB, owned bool, feedCfg *pgx.ConnConfig, o options) (*Store, error) {
	s := &Store{db: db, owned: owned, opts: o}
	schema := o.schema
	if schema == "" {
		if err := db.GetContext(ctx, &schema, `SELECT coalesce(current_schema(), '')`); err != nil {
			return nil, wrapf(err, "connecting")
		}
		if schema == "" {
			return nil, fmt.Errorf("%w: the connection has no current schema (empty search_path); use WithSchema", ErrOption)
		}
	}
	if !o.readOnly {
		if err := s.checkDurability(ctx); err != nil {
			return nil, err
		}
	}
	s.q = newQueries(schema, o.prefix)
	s.channel = channelName(schema, o.prefix)
	timeouts := "SET LOCAL lock_timeout = " + strconv.FormatInt(o.lockTimeout.Milliseconds(), 10) +
		"; SET LOCAL statement_timeout = " + strconv.FormatInt(o.stmtTimeout.Milliseconds(), 10)
	// A write transaction holds the lock every writer takes: the server
	// ends one that stops talking (see WithIdleInTransactionTimeout).
	s.beginWrite = "BEGIN ISOLATION LEVEL READ COMMITTED; " + timeouts +
		"; SET LOCAL idle_in_transaction_session_timeout = " + strconv.FormatInt(o.idleTimeout.Milliseconds(), 10) +
		"; SELECT pg_advisory_xact_lock(" + strconv.FormatInt(lockKey(schema, o.prefix), 10) + ")"
	s.beginRead = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; " + timeouts
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	if feedCfg != nil {
		s.feed = newFeed(feedCfg, s.channel, o.reconnectMin, o.reconnectMax)
	}
	return s, nil
}

// checkDurability refuses a server or role that commits with
// synchronous_commit off, unless the option accepts it.
func (s *Store) checkDurability(ctx context.Context) error {
	var sc string
	if err := s.db.GetContext(ctx, &sc, `SHOW synchronous_commit`); err != nil {
		return wrapf(err, "reading synchronous_commit")
	}
	if sc == "off" && !s.opts.asyncCommit {
		return fmt.Errorf("%w: an acknowledged revocation could be lost in a server crash; turn it on for the role or database, or accept it with WithSynchronousCommitOff", ErrDurability)
	}
	return nil
}

// Capabilities declares the Store Shared, since other processes write its
// tables; Notify is its change feed (see "Change feed" in the package
// documentation), which fails with revoke.ErrClosed after Close and with
// ErrOption for a Store made by New over a pool that is not pgx's without
// WithFeedConfig; Clock reads the server's clock, in UTC.
func (s *Store) Capabilities() revoke.Capabilities {
	return revoke.Capabilities{Shared: true, Notify: s.notify, Clock: s.now}
}

// Close releases the Store, after waiting for the transactions under way,
// and stops its change feed, closing the channels Notify returned. A Store
// made by Open closes its pool; one made by New leaves it open. Later calls
// of View, Update, Notify, Clock and Close return an error wrapping
// revoke.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("postgres: %w", revoke.ErrClosed)
	}
	if s.db == nil {
		return errZeroStore
	}
	s.closed = true
	if s.feed != nil {
		s.feed.stop()
	}
	if s.owned {
		if err := s.db.Close(); err != nil {
			return wrapf(err, "close")
		}
	}
	return nil
}

// View runs fn in a read-only REPEATABLE READ transaction: it sees one
// snapshot, taken at its start, and neither waits for writers nor holds
// them up. The transaction is rolled back when fn returns, and fn's error
// returned.
func (s *Store) View(ctx context.Context, fn func(revoke.Tx) error) error {
	return s.run(ctx, false, fn)
}

// Update runs fn in a write transaction that first takes the Store's
// advisory lock, which every write transaction over the same schema and
// table prefix takes, in every process, and then reads at READ COMMITTED
// (see "Serializability and the sequence" in the package documentation).
// If fn returns nil, Update commits, notifying the change feed if fn took
// or wrote a sequence number; otherwise it rolls back and returns fn's
// error. On a Store opened WithReadOnly it returns an error wrapping
// ErrReadOnly.
func (s *Store) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	return s.run(ctx, true, fn)
}
