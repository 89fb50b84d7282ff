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
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/mattn/go-sqlite3"
	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// Store is a revoke.Store in a SQLite database, which several processes may
// share. It is safe for concurrent use. Create one with Open or New; the
// zero Store is not usable, and its methods return an error.
type Store struct {
	db    *sqlx.DB
	owned bool   // Open made db; Close closes it
	name  string // the file, or "database", for error messages
	opts  options
	q     queries

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
// ErrNotDatabase for a file that is not a SQLite database, revoke.ErrVersion for
// tables of another schema version than SchemaVersion, revoke.ErrReadOnly when the
// tables must be created in a database that cannot be written, and
// revoke.ErrInvalidOption for an invalid option. WithReadOnly opens an existing database
// for reading, and fails with ErrNotMigrated rather than create tables, and
// with an error wrapping fs.ErrNotExist for a missing file.
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
	if !o.readOnly {
		// A read-only Store reads in the journal mode the file has.
		err = s.setWAL(context.Background())
	}
	if err == nil {
		err = s.create(context.Background())
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// driverName is the go-sqlite3 driver, registered under a name of the
// package's own, that Open uses: it tunes each connection as it opens.
// readOnlyDriverName, that of Open WithReadOnly, tunes nothing.
const driverName, readOnlyDriverName = "sqlite3-revocation", "sqlite3-revocation-ro"

var registerDriver sync.Once

// walCheckpointBytes is the WAL size past which a commit copies the WAL back
// into the database (SQLite's default is 1,000 pages: 4 MiB of 4 KiB pages).
// A purge batch, whose rows are spread over the table, or a cascade over a
// very large grant dirties hundreds of pages; with the default nearly every
// such commit would also run a checkpoint, with its own fsyncs.
const walCheckpointBytes = 32 << 20

// pageSize is the page size of the databases Open creates, smaller than
// SQLite's 4,096 bytes: the package documentation (Durability) says why.
const pageSize = 2048

// dsnOf returns the go-sqlite3 data source name for the file at path: a
// file: URI whose parameters set up every connection the pool opens.
func dsnOf(path string, o options) (string, error) {
	switch {
	case path == "":
		return "", fmt.Errorf("%w: empty path", errOption)
	case path == ":memory:" || strings.HasPrefix(path, "file:"):
		return "", fmt.Errorf("%w: Open takes a file path, not %q; use New with a database of your own", errOption, path)
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
// opened with the go-sqlite3 driver, creating them if needed (WithReadOnly:
// never).
// The Store does not own db: Close leaves it open. Give each Store in one
// database its own prefix (WithTablePrefix).
//
// Since db's data source name is the application's, every transaction sets
// the Store's busy timeout, and every write transaction its synchronous
// level, on the connection it runs on when the connection's differ, and
// restores the application's when it ends. The journal
// mode is left as the application set it; WAL is strongly recommended (see
// the package documentation). db must not be an in-memory database unless
// it is limited to one connection. New returns the errors Open does.
func New(db *sqlx.DB, opts ...Option) (*Store, error) {
	if !cgoEnabled {
		return nil, fmt.Errorf("sqlite: New: %w", ErrNeedsCgo)
	}
	if db == nil {
		return nil, fmt.Errorf("%w: nil *sqlx.DB", errOption)
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	s := newStore(db, false, "database", o)
	if err := s.create(context.Background()); err != nil {
		return nil, err
	}
	return s, nil
}

func newStore(db *sqlx.DB, owned bool, name string, o options) *Store {
	return &Store{
		db:    db,
		owned: owned,
		name:  name,
		opts:  o,
		q:     newQueries(o.prefix),
		wlock: make(chan struct{}, 1),
	}
}

// setWAL puts the database in WAL mode, which the file keeps, once per
// Open rather than on each connection. Switching a file to WAL reads its
// header and then rewrites it; SQLite does not call the busy handler for
// that upgrade of a read lock to a write lock, since waiting there could
// deadlock, and fails at once with SQLITE_BUSY while another connection
// (another process opening the same new file) holds the write lock. So
// setWAL waits and retries, within the busy timeout, as the busy handler
// would; once the other connection has switched the file, the switch is a
// read.
func (s *Store) setWAL(ctx context.Context) error {
	deadline := time.Now().Add(s.opts.busyTimeout)
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		var mode string
		err := s.db.GetContext(ctx, &mode, "PRAGMA journal_mode = WAL")
		switch {
		case err == nil && !strings.EqualFold(mode, "wal"):
			return fmt.Errorf("sqlite: %s: journal mode is %q, not WAL (is the file system local and writable?)", s.name, mode)
		case err == nil:
			return nil
		case classify(err) != errBusy || time.Now().After(deadline):
			return wrapf(err, "%s: setting WAL mode", s.name)
		}
		time.Sleep(pause)
	}
}

// Capabilities declares the Store Shared: other processes may write to the
// database, so a revoke.Revoker over the Store follows its revocation
// sequence (see revoke.FollowPolicy). It has no Notify and no Clock.
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
// WithReadOnly, Update returns an error wrapping revoke.ErrReadOnly.
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
	// bad until the transaction has ended: if fn panics, closing the
	// connection rolls the transaction back, and keeps it out of the pool.
	bad := true
	defer func() { c.release(bad) }()
	begin := "BEGIN"
	if write {
		begin = "BEGIN IMMEDIATE"
	}
	if _, err := c.ExecContext(ctx, begin); err != nil {
		// A failed BEGIN leaves no transaction open.
		bad = false
		return wrapf(err, "%s: %s", s.name, begin)
	}
	t := &tx{s: s, conn: c.Conn, TxState: sqlrecord.TxState{Ctx: ctx, Write: write}}
	defer func() { t.Done = true }()
	err = fn(t)
	t.Done = true
	if err == nil {
		if cerr := ctx.Err(); cerr != nil {
			err = fmt.Errorf("sqlite: transaction: %w", cerr)
		}
	}
	// COMMIT and ROLLBACK run to completion whatever ctx says.
	end := context.Background()
	if err == nil && write {
		_, err = c.ExecContext(end, "COMMIT")
		if err == nil {
			bad = false
			return nil
		}
		err = wrapf(err, "%s: commit", s.name)
	}
	// An interrupted write may have rolled back already; either way a
	// connection whose ROLLBACK fails is not trusted again.
	_, rerr := c.ExecContext(end, "ROLLBACK")
	bad = rerr != nil
	return err
}

// lockWrite takes the Store's write lock for a write transaction, and
// returns the function that releases it. A Store opened WithReadOnly
// refuses.
func (s *Store) lockWrite(ctx context.Context) (unlock func(), err error) {
	if s.opts.readOnly {
		return nil, fmt.Errorf("sqlite: %s: Update: %w: the Store was opened WithReadOnly", s.name, errReadOnly)
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
	*sqlx.Conn
	restore string // the statement that restores the application's pragmas
}

// acquire takes a connection from the pool. On a database the Store does
// not own (New), whose data source name is the application's, it sets the
// Store's busy timeout and, for a write, its synchronous level, when the
// connection's differ, and release restores the application's.
func (s *Store) acquire(ctx context.Context, write bool) (*conn, error) {
	sc, err := s.db.Connx(ctx)
	if err != nil {
		return nil, err
	}
	c := &conn{Conn: sc}
	if s.owned {
		return c, nil
	}
	var busy, sync int64
	err = sc.QueryRowContext(ctx, "SELECT * FROM pragma_busy_timeout, pragma_synchronous").Scan(&busy, &sync)
	wantBusy, wantSync := s.opts.busyTimeout.Milliseconds(), sync
	if write {
		wantSync = int64(s.opts.sync.level())
	}
	if err == nil && (busy != wantBusy || sync != wantSync) {
		const set = "PRAGMA busy_timeout = %d; PRAGMA synchronous = %d"
		c.restore = fmt.Sprintf(set, busy, sync)
		_, err = sc.ExecContext(ctx, fmt.Sprintf(set, wantBusy, wantSync))
	}
	if err != nil {
		c.release(true)
		return nil, err
	}
	return c, nil
}

// release restores the application's pragmas and returns the connection
// to the pool, or closes it if it is bad (its state is unknown) or cannot
// be restored.
func (c *conn) release(bad bool) {
	if !bad && c.restore != "" {
		_, err := c.ExecContext(context.Background(), c.restore)
		bad = err != nil
	}
	if bad {
		// Returning driver.ErrBadConn from Raw makes database/sql close the
		// connection instead of pooling it.
		_ = c.Raw(func(any) error { return driver.ErrBadConn })
	}
	_ = c.Close()
}
