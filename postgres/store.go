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

	// beginWrite and beginRead open a transaction and set its timeouts,
	// sent with the transaction's first statement; beginCreate also takes
	// the Store's advisory lock, for creating the tables.
	beginWrite, beginRead []stmt
	beginCreate           string
	feed                  *feed

	// mu is held for reading by every transaction and for writing by
	// Close, which so waits for the transactions under way.
	mu     sync.RWMutex
	closed bool
}

var _ revoke.Store = (*Store)(nil)

// Open connects to the PostgreSQL server of dsn (a URL or a key=value
// string, as pgx reads it), creates the Store's tables unless they exist,
// and returns a Store that owns its connection pool of 8 connections (New
// takes a pool of any size): Close closes it. The change feed's connection
// uses the same DSN, unless WithListenDSN gives another.
//
// Open returns an error wrapping revoke.ErrInvalidOption for an invalid
// option or DSN, revoke.ErrUnavailable when the server cannot be reached,
// revoke.ErrVersion for tables at another schema version, and
// ErrDurability when the server commits with synchronous_commit or fsync
// off (see WithSynchronousCommitOff). WithReadOnly opens existing tables for
// reading, and fails with ErrNotMigrated rather than create them.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, optionErr("DSN: %v", err)
	}
	db := sqlx.NewDb(stdlib.OpenDB(*cfg), "pgx")
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
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
// (github.com/jackc/pgx/v5/stdlib), creating them unless they exist
// (WithReadOnly: never). The Store does not own db: Close leaves it open.
// Give each Store in one schema its own prefix (WithTablePrefix). The
// change feed's connection, outside the pool, takes the configuration of a
// connection of db, unless WithListenDSN gives one. New returns the errors
// Open does, and one wrapping revoke.ErrInvalidOption for a pool of another
// driver.
func New(ctx context.Context, db *sqlx.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, optionErr("nil *sqlx.DB")
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, wrapf(err, "connecting")
	}
	var cfg *pgx.ConnConfig
	err = c.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return optionErr("the pool's driver is not pgx's (github.com/jackc/pgx/v5/stdlib)")
		}
		cfg = pc.Conn().Config()
		return nil
	})
	_ = c.Close() // before newStore takes a connection: the pool may hold one
	if err != nil {
		return nil, err
	}
	return newStore(ctx, db, false, cfg, o)
}

// newStore makes the Store of db; cfg is the feed's connection
// configuration, unless WithListenDSN gave one.
func newStore(ctx context.Context, db *sqlx.DB, owned bool, cfg *pgx.ConnConfig, o options) (*Store, error) {
	if o.feedConfig == nil {
		o.feedConfig = cfg
	}
	s := &Store{db: db, owned: owned, opts: o}
	schema := o.schema
	if schema == "" {
		if err := db.GetContext(ctx, &schema, `SELECT coalesce(current_schema(), '')`); err != nil {
			return nil, wrapf(err, "connecting")
		}
		if schema == "" {
			return nil, optionErr("the connection has no current schema (empty search_path); use WithSchema")
		}
	}
	if !o.readOnly {
		if err := s.checkDurability(ctx); err != nil {
			return nil, err
		}
	}
	s.q = newQueries(schema, o.prefix)
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	// The server ends a write transaction that stops talking while it
	// holds locks others wait for (WithIdleInTransactionTimeout).
	// Every statement runs on an index (see TestQueriesUseIndexes, which
	// plans them under these settings): pgx prepares a statement once per
	// connection, and a generic plan made while a table was small would
	// otherwise keep scanning it whole as it grows.
	timeouts := "SELECT set_config('lock_timeout', '" + ms(o.lockTimeout) + "', true), set_config('statement_timeout', '" + ms(o.stmtTimeout) + "', true)" +
		", set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)"
	s.beginWrite = []stmt{{"BEGIN ISOLATION LEVEL READ COMMITTED", nil, "begin"},
		{timeouts + ", set_config('idle_in_transaction_session_timeout', '" + ms(o.idleTimeout) + "', true)", nil, "begin"}}
	s.beginRead = []stmt{{"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", nil, "begin"}, {timeouts, nil, "begin"}}
	s.beginCreate = "BEGIN; SET LOCAL lock_timeout = " + ms(o.lockTimeout) + "; SELECT pg_advisory_xact_lock(" + strconv.FormatInt(lockKey(schema, o.prefix), 10) + ")"
	if err := s.create(ctx); err != nil {
		return nil, err
	}
	fctx, cancel := context.WithCancel(context.Background())
	s.feed = &feed{cfg: o.feedConfig, channel: channelName(schema, o.prefix), min: o.reconnectMin, max: o.reconnectMax,
		subs: make(map[chan struct{}]struct{}), ctx: fctx, cancel: cancel}
	return s, nil
}

// checkDurability refuses a server that may acknowledge a commit a crash
// loses (see lossyCommit), unless WithSynchronousCommitOff accepts it.
func (s *Store) checkDurability(ctx context.Context) error {
	var syncCommit, fsync string
	err := s.db.QueryRowContext(ctx, `SELECT current_setting('synchronous_commit'), current_setting('fsync')`).Scan(&syncCommit, &fsync)
	if err != nil {
		return wrapf(err, "reading synchronous_commit and fsync")
	}
	if why := lossyCommit(syncCommit, fsync); why != "" && !s.opts.asyncCommit {
		return fmt.Errorf("%w: %s, so an acknowledged revocation could be lost in a server crash; turn it on, or accept it with WithSynchronousCommitOff", ErrDurability, why)
	}
	return nil
}

// lossyCommit returns which of the server's settings lets it acknowledge a
// commit before the commit is on disk, or "": synchronous_commit off (for
// the server, database or role), or fsync off (for the server).
func lossyCommit(syncCommit, fsync string) string {
	switch {
	case syncCommit == "off":
		return "synchronous_commit is off"
	case fsync == "off":
		return "fsync is off"
	}
	return ""
}

// Capabilities declares the Store Shared, since other processes write its
// tables; Notify is its change feed (see "Change feed" in the package
// documentation), which fails with revoke.ErrClosed after Close; Clock
// reads the server's clock, in UTC; Overlap is WithOverlap's (default 1).
func (s *Store) Capabilities() revoke.Capabilities {
	return revoke.Capabilities{Shared: true, Notify: s.notify, Clock: s.now, Overlap: max(s.opts.overlap, 1)}
}

// Close releases the Store, after waiting for the transactions under way,
// and stops its change feed, closing the channels Notify returned. A Store
// made by Open closes its pool; one made by New leaves it open. Later calls
// of View, Update, Notify, Clock and Close return an error wrapping
// revoke.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	s.closed = true
	s.feed.stop()
	if s.owned {
		if err := s.db.Close(); err != nil {
			return wrapf(err, "close")
		}
	}
	return nil
}

// usable returns why the Store cannot be used, or nil. s.mu is held.
func (s *Store) usable() error {
	if s.closed {
		return fmt.Errorf("postgres: %w", revoke.ErrClosed)
	}
	if s.db == nil {
		return errZeroStore
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

// Update runs fn in a write transaction at READ COMMITTED that locks the
// grants it reads and changes (see "Concurrency" in the package
// documentation). If fn returns nil, Update commits, notifying the change
// feed if fn took or wrote a sequence number; otherwise it rolls back and
// returns fn's error. A transaction rolled back for a conflict with
// another runs again, fn with it. On a Store opened WithReadOnly it returns an error wrapping
// revoke.ErrReadOnly.
func (s *Store) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	return s.run(ctx, true, fn)
}

// now is the Store's Capabilities.Clock: the database server's clock.
func (s *Store) now(ctx context.Context) (time.Time, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return time.Time{}, err
	}
	var now time.Time
	if err := s.db.QueryRowxContext(ctx, `SELECT clock_timestamp()`).Scan(&now); err != nil {
		return time.Time{}, wrapf(err, "reading the server's clock")
	}
	return now.UTC(), nil
}
