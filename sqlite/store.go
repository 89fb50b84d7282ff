package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"
	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// Store is a revoke.Store in a SQLite database, which several processes may
// share. It is safe for concurrent use. Create one with Open or New; the
// zero Store is not usable, and its methods return an error.
type Store struct {
	db     *sqlx.DB
	owned  bool   // Open made db; Close closes it
	name   string // the file, or "database", for error messages
	opts   options
	busyMS int64
	q      queries

	// wlock serializes this Store's write transactions, so that they queue
	// here rather than poll SQLite's busy handler; other processes are kept
	// out by BEGIN IMMEDIATE.
	wlock chan struct{}

	// mu is held for reading by every transaction and for writing by
	// Close, which so waits for the transactions under way.
	mu     sync.RWMutex
	closed bool
}

var _ revoke.Store = (*Store)(nil)

// stmtCacheSize is how many prepared statements each connection Open makes
// keeps for reuse across transactions.
const stmtCacheSize = 16

// Open opens the SQLite database in the file at path, creating the file and
// the Store's tables if needed, and returns a Store that owns it: Close
// closes the database. The database is put in WAL mode, and its connections
// commit with synchronous=FULL (see WithSynchronous) and wait up to the busy
// timeout for a lock held by another process (see WithBusyTimeout).
//
// path is a file path, not a URI; ":memory:" is refused (use package memory,
// or New with a database of your own). Open returns an error wrapping
// ErrNotDatabase for a file that is not a SQLite database, ErrVersion for
// tables a newer release has migrated, ErrReadOnly when the tables must be
// created or migrated in a database that cannot be written, and ErrOption
// for an invalid option. WithReadOnly opens an existing database for
// reading, and fails with ErrNotMigrated rather than create or migrate
// tables, and with an error wrapping fs.ErrNotExist for a missing file.
func Open(path string, opts ...Option) (*Store, error) {
	if !cgoEnabled {
		return nil, fmt.Errorf("sqlite: Open: %w", ErrNeedsCgo)
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	dsn, err := dsnOf(path, o)
	if err != nil {
		return nil, err
	}
	driver := driverName
	if o.readOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("sqlite: %s: WithReadOnly opens an existing database only: %w", path, err)
		}
		driver = readOnlyDriverName
	}
	registerDriver.Do(func() {
		sql.Register(driverName, &sqlite3.SQLiteDriver{ConnectHook: tuneConn})
		// Read-only connections leave the page size and the journal mode
		// as the file has them: setting them is a write.
		sql.Register(readOnlyDriverName, &sqlite3.SQLiteDriver{})
	})
	db, err := sqlx.Open(driver, dsn)
	if err != nil {
		return nil, wrapf(err, "%s", path)
	}
	// Connections are cheap to keep and costly to open (each applies the
	// pragmas); keep a few for the follower's reads and the writes.
	db.SetMaxIdleConns(4)
	s := newStore(db, true, path, o)
	if err := s.init(context.Background()); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// driverName is the go-sqlite3 driver, registered under a name of the
// package's own, that Open uses: it tunes each connection as it opens.
const driverName = "sqlite3-revocation"

// readOnlyDriverName is the driver of Open WithReadOnly, which tunes nothing.
const readOnlyDriverName = "sqlite3-revocation-ro"

var registerDriver sync.Once

// walCheckpointBytes is the WAL size past which a commit copies the WAL back
// into the database (SQLite's default is 1,000 pages: 4 MiB of 4 KiB pages).
// A purge batch, whose rows are spread over the table, or a cascade over a
// very large grant dirties hundreds of pages; with the default nearly every
// such commit would also run a checkpoint, with its own fsyncs.
const walCheckpointBytes = 32 << 20

// pageSize is the page size of the databases Open creates (SQLite's
// default is 4,096 bytes). Every token's record lands on a random leaf of
// the index by token ID, so a commit of a group of tokens writes about one
// page per token to the WAL (and again at the checkpoint): smaller pages
// write fewer bytes per token for the same work. BENCHMARKS.md has the
// figures. A database created with another page size keeps it.
const pageSize = 2048

// dsnOf returns the go-sqlite3 data source name for the file at path: a
// file: URI whose parameters set up every connection the pool opens.
func dsnOf(path string, o options) (string, error) {
	switch {
	case path == "":
		return "", fmt.Errorf("%w: empty path", ErrOption)
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		return "", fmt.Errorf("%w: Open takes a file path, not %q; use New with a database of your own", ErrOption, path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("sqlite: %s: %w", path, err)
	}
	// SQLite decodes %XX in a URI's path; '?' and '#' would end it.
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(abs)
	params := url.Values{
		"_synchronous":     {o.sync.String()},
		"_busy_timeout":    {strconv.FormatInt(o.busyTimeout.Milliseconds(), 10)},
		"_stmt_cache_size": {strconv.Itoa(stmtCacheSize)},
		"_cache_size":      {"-65536"},
	}
	if o.readOnly {
		params.Set("mode", "ro")
	}
	return "file:" + esc + "?" + params.Encode(), nil
}

// New returns a Store whose tables live in db, an application's database
// opened with the go-sqlite3 driver, creating or migrating them if needed
// (WithReadOnly: neither).
// The Store does not own db: Close leaves it open. Give each Store in one
// database its own prefix (WithTablePrefix).
//
// Since db's data source name is the application's, every transaction sets
// the busy timeout, and every write transaction the synchronous level, on
// the connection it runs on, and restores them when it ends. The journal
// mode is left as the application set it; WAL is strongly recommended (see
// the package documentation). db must not be an in-memory database unless
// it is limited to one connection. New returns the errors Open does.
func New(db *sqlx.DB, opts ...Option) (*Store, error) {
	if !cgoEnabled {
		return nil, fmt.Errorf("sqlite: New: %w", ErrNeedsCgo)
	}
	if db == nil {
		return nil, fmt.Errorf("%w: nil *sqlx.DB", ErrOption)
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	s := newStore(db, false, "database", o)
	if err := s.init(context.Background()); err != nil {
		return nil, err
	}
	return s, nil
}

func newStore(db *sqlx.DB, owned bool, name string, o options) *Store {
	return &Store{
		db:     db,
		owned:  owned,
		name:   name,
		opts:   o,
		busyMS: o.busyTimeout.Milliseconds(),
		q:      newQueries(o.prefix),
		wlock:  make(chan struct{}, 1),
	}
}

// init migrates the tables and checks the journal mode of a database Open
// made (a read-only Store checks the tables' version only, and reads in any
// journal mode).
func (s *Store) init(ctx context.Context) error {
	if err := s.migrate(ctx); err != nil {
		return err
	}
	if !s.owned || s.opts.readOnly {
		return nil
	}
	var mode string
	if err := s.db.GetContext(ctx, &mode, "PRAGMA journal_mode"); err != nil {
		return wrapf(err, "%s: reading the journal mode", s.name)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("sqlite: %s: journal mode is %q, not WAL (is the file system local and writable?)", s.name, mode)
	}
	return nil
}

// Capabilities declares the Store Shared: other processes may write to the
// database, so a revoke.Revoker over the Store follows its revocation
// sequence (see revoke.WithSyncInterval). It has no Notify and no Clock.
func (s *Store) Capabilities() revoke.Capabilities { return revoke.Capabilities{Shared: true} }

// Close releases the Store, after waiting for the transactions under way.
// A Store made by Open closes its database; one made by New leaves it open.
// Later calls of View, Update and Close return an error wrapping
// revoke.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("sqlite: %w", revoke.ErrClosed)
	}
	if s.db == nil {
		return errZeroStore
	}
	s.closed = true
	if s.owned {
		if err := s.db.Close(); err != nil {
			return wrapf(err, "%s: close", s.name)
		}
	}
	return nil
}

// View runs fn in a read transaction (a deferred BEGIN): it sees the
// snapshot of the database at its first read and, in WAL mode, neither
// waits for writers nor holds them up. The transaction is rolled back when
// fn returns, and its error returned.
func (s *Store) View(ctx context.Context, fn func(revoke.Tx) error) error {
	return s.run(ctx, false, fn)
}

// Update runs fn in a write transaction on a connection of its own: BEGIN
// IMMEDIATE takes the database's write lock up front, waiting up to the busy
// timeout for another process to release it, so that concurrent writers
// never deadlock or overwrite each other. If fn returns nil, Update commits;
// otherwise, or if ctx is done by then, it rolls back and returns fn's
// error (or ctx's). When Update returns nil, the transaction is on stable
// storage (with the default SynchronousFull). On a Store opened
// WithReadOnly, Update returns an error wrapping ErrReadOnly.
func (s *Store) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	return s.run(ctx, true, fn)
}

func (s *Store) run(ctx context.Context, write bool, fn func(revoke.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("sqlite: %w", revoke.ErrClosed)
	}
	if s.db == nil {
		return errZeroStore
	}
	if write {
		unlock, err := s.lockWrite(ctx)
		if err != nil {
			return err
		}
		defer unlock()
	}
	c, err := s.acquire(ctx, write)
	if err != nil {
		return wrapf(err, "%s: connecting", s.name)
	}
	ended := false
	defer func() {
		if !ended {
			// fn panicked: closing the connection rolls the transaction
			// back, and keeps it out of the pool.
			c.discard()
		}
		c.release()
	}()
	begin := "BEGIN"
	if write {
		begin = "BEGIN IMMEDIATE"
	}
	if _, err := c.conn.ExecContext(ctx, begin); err != nil {
		// A failed BEGIN leaves no transaction open.
		ended = true
		return wrapf(err, "%s: %s", s.name, begin)
	}
	t := &tx{s: s, conn: c.conn, TxState: sqlrecord.TxState{Ctx: ctx, Write: write}}
	defer func() { t.Done = true }()
	err = fn(t)
	t.Done = true
	ended = true
	if err == nil {
		if cerr := ctx.Err(); cerr != nil {
			err = fmt.Errorf("sqlite: transaction: %w", cerr)
		}
	}
	// COMMIT and ROLLBACK run to completion whatever ctx says.
	end := context.Background()
	if err != nil || !write {
		if _, rerr := c.conn.ExecContext(end, "ROLLBACK"); rerr != nil {
			// An interrupted write may have rolled back already; either way
			// the connection is not trusted again.
			c.discard()
		}
		return err
	}
	if _, err := c.conn.ExecContext(end, "COMMIT"); err != nil {
		if _, rerr := c.conn.ExecContext(end, "ROLLBACK"); rerr != nil {
			c.discard()
		}
		return wrapf(err, "%s: commit", s.name)
	}
	return nil
}

// lockWrite takes the Store's write lock for a write transaction, and
// returns the function that releases it. A Store opened WithReadOnly
// refuses.
func (s *Store) lockWrite(ctx context.Context) (unlock func(), err error) {
	if s.opts.readOnly {
		return nil, fmt.Errorf("sqlite: %s: Update: %w: the Store was opened WithReadOnly", s.name, ErrReadOnly)
	}
	select {
	case s.wlock <- struct{}{}:
		return func() { <-s.wlock }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("sqlite: %w", ctx.Err())
	}
}

// conn is a connection taken from the pool for one transaction.
type conn struct {
	conn    *sqlx.Conn
	restore []string // statements that restore the pragmas set on it
	bad     bool
}

// acquire takes a connection from the pool. On a database the Store does
// not own it sets the busy timeout and, for a write, the synchronous level,
// to be restored by release.
func (s *Store) acquire(ctx context.Context, write bool) (*conn, error) {
	sc, err := s.db.Connx(ctx)
	if err != nil {
		return nil, err
	}
	c := &conn{conn: sc}
	if s.owned {
		return c, nil
	}
	if err := c.set(ctx, "busy_timeout", s.busyMS); err != nil {
		c.release()
		return nil, err
	}
	if write {
		if err := c.set(ctx, "synchronous", int64(s.opts.sync.level())); err != nil {
			c.release()
			return nil, err
		}
	}
	return c, nil
}

// set sets the integer pragma name to want if it is not already.
func (c *conn) set(ctx context.Context, name string, want int64) error {
	var cur int64
	if err := c.conn.GetContext(ctx, &cur, "PRAGMA "+name); err != nil {
		return err
	}
	if cur == want {
		return nil
	}
	if _, err := c.conn.ExecContext(ctx, fmt.Sprintf("PRAGMA %s = %d", name, want)); err != nil {
		return err
	}
	c.restore = append(c.restore, fmt.Sprintf("PRAGMA %s = %d", name, cur))
	return nil
}

// discard marks the connection to be closed rather than returned to the
// pool: its state is unknown.
func (c *conn) discard() { c.bad = true }

// release restores the pragmas and returns the connection to the pool, or
// closes it if it was discarded or cannot be restored.
func (c *conn) release() {
	if c.conn == nil {
		return
	}
	for _, stmt := range c.restore {
		if c.bad {
			break
		}
		if _, err := c.conn.ExecContext(context.Background(), stmt); err != nil {
			c.bad = true
		}
	}
	if c.bad {
		// Returning driver.ErrBadConn from Raw makes database/sql close the
		// connection instead of pooling it.
		_ = c.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	_ = c.conn.Close()
	c.conn = nil
}
