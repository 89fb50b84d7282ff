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
// methods of the zero Store return an error.
type Store struct {
	db    *sqlx.DB
	owned bool   // Open made db; Close closes it
	name  string // the file, or "database", for error messages
	opts  options
	q     queries
	wlock chan struct{} // this process's writers queue here, not in SQLite's busy handler

	mu     sync.RWMutex // held for reading by transactions, for writing by Close
	closed bool
}

var _ revoke.Store = (*Store)(nil)

const (
	// driverName is go-sqlite3 registered to tune each connection Open
	// makes (tuneConn); readOnlyDriverName, for WithReadOnly, tunes nothing,
	// since setting the page size or the journal mode is a write.
	driverName, readOnlyDriverName = "sqlite3-revocation", "sqlite3-revocation-ro"
	// walCheckpointBytes is the WAL size past which a commit checkpoints
	// (SQLite's default, 1,000 pages, would checkpoint after nearly every
	// purge batch or large cascade).
	walCheckpointBytes = 32 << 20
	pageSize           = 2048 // of the databases Open creates (see Durability)
)

var registerDriver sync.Once

// Open opens the SQLite database in the file at path, creating the file and
// the Store's tables if needed, and returns a Store whose Close closes it.
// It puts the database in WAL mode (WithReadOnly: leaves it as it is).
// path is a file path, not a URI nor ":memory:" (use New for those). Open
// returns an error wrapping ErrNotDatabase for a file that is not a SQLite
// database, and WithReadOnly one wrapping fs.ErrNotExist for a missing
// file.
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
		sql.Register(readOnlyDriverName, &sqlite3.SQLiteDriver{})
	})
	db, err := sqlx.Open(driver, dsn)
	if err != nil {
		return nil, wrapf(err, "%s", path)
	}
	// Connections are costly to open (each applies the pragmas): keep a
	// few for the follower's reads and the writes.
	db.SetMaxIdleConns(4)
	s := newStore(db, true, path, o)
	if !o.readOnly {
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

// dsnOf returns the go-sqlite3 data source name for the file at path: a
// file: URI whose parameters set up every connection of the pool.
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
		"_stmt_cache_size": {"16"},
		"_cache_size":      {"-65536"},
	}
	if o.readOnly {
		params.Set("mode", "ro")
	}
	return "file:" + esc + "?" + params.Encode(), nil
}

// New returns a Store whose tables live in db, an application's database
// opened with the go-sqlite3 driver, creating them if needed; Close leaves
// db open. Give each Store in one database its own prefix
// (WithTablePrefix). Each transaction sets the Store's busy timeout, and
// each write transaction its synchronous level, on its connection when the
// connection's differ, and restores the application's when it ends. New
// returns the errors Open does.
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
	return &Store{db: db, owned: owned, name: name, opts: o, q: newQueries(o.prefix), wlock: make(chan struct{}, 1)}
}

// setWAL puts the database in WAL mode, which the file keeps, once per
// Open. SQLite fails that switch at once with SQLITE_BUSY, without calling
// the busy handler, while another connection (another process opening the
// same new file) holds the write lock; so setWAL retries within the busy
// timeout.
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

// Capabilities declares the Store Shared: other processes may write the
// database. It has no Notify and no Clock.
func (s *Store) Capabilities() revoke.Capabilities { return revoke.Capabilities{Shared: true} }

// Close releases the Store, after waiting for the transactions under way.
// A Store made by Open closes its database; one made by New leaves it open.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	s.closed = true
	if s.owned {
		return wrapf(s.db.Close(), "%s: close", s.name)
	}
	return nil
}

func (s *Store) usable() error {
	if s.closed {
		return fmt.Errorf("sqlite: %w", revoke.ErrClosed)
	}
	if s.db == nil {
		return errZeroStore
	}
	return nil
}

// View runs fn in a read transaction (a deferred BEGIN), which in WAL mode
// neither waits for writers nor holds them up.
func (s *Store) View(ctx context.Context, fn func(revoke.Tx) error) error {
	return s.run(ctx, false, fn)
}

// Update runs fn in a write transaction that begins with BEGIN IMMEDIATE,
// waiting up to the busy timeout for another process's write lock: that
// wait does not end with ctx, but a ctx that ended during it fails Update
// with an error wrapping ctx's error. On a Store opened WithReadOnly it
// returns an error wrapping revoke.ErrReadOnly.
func (s *Store) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	return s.run(ctx, true, fn)
}
func (s *Store) run(ctx context.Context, write bool, fn func(revoke.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return err
	}
	begin := "BEGIN"
	if write {
		if s.opts.readOnly {
			return fmt.Errorf("sqlite: %s: Update: %w: the Store was opened WithReadOnly", s.name, errReadOnly)
		}
		select {
		case s.wlock <- struct{}{}:
			defer func() { <-s.wlock }()
		case <-ctx.Done():
			return fmt.Errorf("sqlite: %w", ctx.Err())
		}
		begin = "BEGIN IMMEDIATE"
	}
	c, err := s.acquire(ctx, write)
	if err != nil {
		return wrapf(err, "%s: connecting", s.name)
	}
	// bad until the transaction has ended: if fn panics, closing the
	// connection rolls the transaction back, and keeps it out of the pool.
	bad := true
	defer func() { c.release(bad) }()
	if _, err := c.ExecContext(ctx, begin); err != nil {
		bad = false // a failed BEGIN leaves no transaction open
		if cerr := ctx.Err(); cerr != nil {
			// SQLite's wait for another process's lock outlasts ctx: the
			// caller gave up, the store did not fail (no ErrUnavailable).
			return fmt.Errorf("sqlite: %s: %s: %w (%v)", s.name, begin, cerr, err)
		}
		return wrapf(err, "%s: %s", s.name, begin)
	}
	t := &tx{s: s, conn: c.Conn, TxState: sqlrecord.TxState{Ctx: ctx, Write: write}}
	defer func() { t.Done = true }()
	err = fn(t)
	t.Done = true
	if cerr := ctx.Err(); err == nil && cerr != nil {
		err = fmt.Errorf("sqlite: transaction: %w", cerr)
	}
	// COMMIT and ROLLBACK run to completion whatever ctx says.
	end := context.Background()
	if err == nil && write {
		if _, err = c.ExecContext(end, "COMMIT"); err == nil {
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

// conn is a connection taken from the pool for one transaction.
type conn struct {
	*sqlx.Conn
	restore string // the statement that restores the application's pragmas
}

// acquire takes a connection from the pool. On a database of New's, it
// sets the Store's busy timeout and, for a write, its synchronous level,
// when the connection's differ; release restores them.
func (s *Store) acquire(ctx context.Context, write bool) (*conn, error) {
	sc, err := s.db.Connx(ctx)
	if err != nil || s.owned {
		return &conn{Conn: sc}, err
	}
	c := &conn{Conn: sc}
	var busy, sync int64
	err = sc.QueryRowContext(ctx, "SELECT * FROM pragma_busy_timeout, pragma_synchronous").Scan(&busy, &sync)
	wantBusy, wantSync := s.opts.busyTimeout.Milliseconds(), sync
	if write {
		wantSync = s.opts.sync.level()
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
		// driver.ErrBadConn from Raw makes database/sql close the
		// connection instead of pooling it.
		_ = c.Raw(func(any) error { return driver.ErrBadConn })
	}
	_ = c.Close()
}
