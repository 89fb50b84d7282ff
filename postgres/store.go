package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/internal/sqlrecord"
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

// Capabilities declares the Store Shared: other processes may write its
// tables, so a revoke.Revoker over it follows their revocations.
//
// Notify is the change feed: it returns a channel that receives soon after
// any process commits a revocation to the Store's tables, and each time the
// feed's connection is re-established (notifications sent while it was
// down are lost, so the receiver must catch up). Sends never block and
// coalesce; the channel is closed when ctx is done or the Store closes. The
// feed is a connection of the Store's own, outside the pool, that LISTENs
// on a channel named after the schema and table prefix; Update sends a
// NOTIFY on it in every transaction that takes or writes a revocation
// sequence number, delivered if and only if the transaction commits. The
// first call of Notify opens the connection; if it fails, or later drops,
// the feed reconnects in the background with backoff (see
// WithReconnectBackoff). Notify returns an error wrapping revoke.ErrClosed
// after Close, and one wrapping ErrOption for a Store made by New over a
// pool that is not pgx's without WithFeedConfig.
//
// Clock reads the database server's clock (clock_timestamp()), in UTC: a
// Revoker purges by the earlier of its own clock and this one, so that a
// replica whose clock runs fast cannot purge records the database still
// holds unexpired. It returns an error wrapping revoke.ErrClosed after
// Close.
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

// Update runs fn in a write transaction that holds the Store's advisory
// lock, which every write transaction over the same schema and table prefix
// takes first, in every process: write transactions run one at a time, so
// they are serializable, and sequence numbers commit in the order they are
// handed out. Reads run at READ COMMITTED, after the lock is granted, so
// they see every transaction committed before. If fn returns nil, Update
// notifies the change feed if fn took or wrote a sequence number, and
// commits; otherwise it rolls back
// and returns fn's error. When Update returns nil the transaction is
// committed, with synchronous_commit as the server has it (see
// WithSynchronousCommitOff). On a Store opened WithReadOnly, Update returns
// an error wrapping ErrReadOnly.
func (s *Store) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	return s.run(ctx, true, fn)
}

func (s *Store) run(ctx context.Context, write bool, fn func(revoke.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("postgres: %w", revoke.ErrClosed)
	}
	if s.db == nil {
		return errZeroStore
	}
	if write && s.opts.readOnly {
		return fmt.Errorf("postgres: Update: %w: the Store was opened WithReadOnly", ErrReadOnly)
	}
	return s.runOnce(ctx, write, fn)
}

func (s *Store) runOnce(ctx context.Context, write bool, fn func(revoke.Tx) error) error {
	c, err := s.db.Connx(ctx)
	if err != nil {
		return wrapf(err, "connecting")
	}
	ended := false
	defer func() {
		if !ended {
			// fn panicked: the connection is closed, which rolls back.
			discard(c)
		}
		_ = c.Close()
	}()
	begin := s.beginRead
	if write {
		begin = s.beginWrite
	}
	if _, err := c.ExecContext(ctx, begin); err != nil {
		ended = true
		s.abort(ctx, c)
		return s.ctxErr(ctx, wrapf(err, "begin"))
	}
	t := &tx{s: s, conn: c, TxState: sqlrecord.TxState{Ctx: ctx, Write: write}}
	err = fn(t)
	t.Done = true
	ended = true
	if err == nil {
		if cerr := ctx.Err(); cerr != nil {
			err = fmt.Errorf("postgres: transaction: %w", cerr)
		}
	}
	if err != nil || !write {
		s.abort(ctx, c)
		return err
	}
	commit := "COMMIT"
	if t.seq != 0 {
		// The notification is delivered when, and only if, the
		// transaction commits.
		commit = "SELECT pg_notify('" + s.channel + "', '" + strconv.FormatUint(t.seq, 10) + "'); COMMIT"
	}
	// COMMIT, once sent, runs to completion whatever ctx says, within the
	// statement timeout.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.stmtTimeout)
	defer cancel()
	if _, err := c.ExecContext(cctx, commit); err != nil {
		discard(c)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			// No answer from the server: whether it committed is
			// unknown. The write is not acknowledged, nor run again
			// (see revoke.Store).
			return fmt.Errorf("postgres: commit: outcome unknown: %w (%w)", err, revoke.ErrUnavailable)
		}
		// The server answered with an error: it rolled back.
		return wrapf(err, "commit")
	}
	return nil
}

// abort ends the transaction on c without committing it. When ctx is done
// it closes c, which ends the transaction as well, rather than wait for a
// ROLLBACK that a server that does not answer would hold past ctx.
func (s *Store) abort(ctx context.Context, c *sqlx.Conn) {
	if ctx.Err() != nil {
		discard(c)
		return
	}
	s.rollback(c)
}

// rollback ends the transaction on c, or discards c when that fails.
func (s *Store) rollback(c *sqlx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.stmtTimeout)
	defer cancel()
	if _, err := c.ExecContext(ctx, "ROLLBACK"); err != nil {
		discard(c)
	}
}

// ctxErr returns ctx's error, wrapped, if ctx is done, else err: pgx
// reports a statement interrupted by ctx in its own words.
func (s *Store) ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%w)", err, cerr)
	}
	return err
}

// discard makes database/sql close c rather than pool it: its state is
// unknown.
func discard(c *sqlx.Conn) {
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
}
