package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
)

// Store is a revoke.Store in MySQL or MariaDB tables, which any number of
// processes share. It is safe for concurrent use. Create one with Open or
// New; the zero Store is not usable, and its methods return an error.
type Store struct {
	db    *sqlx.DB
	owned bool // Open made db; Close closes it
	opts  options
	q     queries
	// The statements that begin a transaction; the last of beginWrite
	// takes the write lock.
	beginWrite, beginRead []string
	// mu is held for reading by every call and for writing by Close.
	mu     sync.RWMutex
	closed bool
}

var _ revoke.Store = (*Store)(nil)

// Open connects to the server of dsn (as github.com/go-sql-driver/mysql
// reads it, naming a database), creates or migrates the Store's tables, and
// returns a Store that owns its pool: Close closes it. Open turns on the
// driver's interpolateParams, so that each statement is one round trip.
//
// Open returns an error wrapping ErrOption for an invalid option or DSN,
// revoke.ErrUnavailable when the server cannot be reached, ErrVersion for
// tables a newer release has migrated, and ErrDurability for a server that
// does not flush its commits (see WithRelaxedDurability).
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: DSN: %w", ErrOption, err)
	}
	cfg.InterpolateParams = true
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: DSN: %w", ErrOption, err)
	}
	db := sqlx.NewDb(sql.OpenDB(conn), "mysql")
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(time.Minute)
	s, err := New(ctx, db, opts...)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// New returns a Store whose tables live in the database of db, an
// application's pool of github.com/go-sql-driver/mysql, creating or
// migrating them if needed; Close leaves db open. Give each Store in one
// database its own prefix (WithTablePrefix), and turn on interpolateParams
// in db's DSN: without it every statement with arguments is prepared, run
// and closed, three round trips. New returns the errors Open does.
func New(ctx context.Context, db *sqlx.DB, opts ...Option) (*Store, error) {
	o, err := buildOptions(opts)
	if err == nil && db == nil {
		err = fmt.Errorf("%w: nil *sqlx.DB", ErrOption)
	}
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, opts: o, q: newQueries(o.prefix)}
	var version string
	var flush, logBin, syncBinlog int64
	err = db.QueryRowxContext(ctx, `SELECT VERSION(), @@GLOBAL.innodb_flush_log_at_trx_commit, @@GLOBAL.log_bin, @@GLOBAL.sync_binlog`).
		Scan(&version, &flush, &logBin, &syncBinlog)
	if err != nil {
		return nil, wrapf(err, "connecting")
	}
	if err := durable(flush, logBin, syncBinlog); err != nil && !o.relaxed {
		return nil, err
	}
	lock, timeout := s.q.lockRow, strconv.Itoa(int((o.lockTimeout+time.Second-1)/time.Second))
	if strings.Contains(version, "MariaDB") {
		lock = "SET STATEMENT innodb_lock_wait_timeout = " + timeout + " FOR " + lock // for this statement alone
	} else {
		s.beginWrite = []string{"SET SESSION innodb_lock_wait_timeout = " + timeout} // MySQL has no other way
	}
	s.beginWrite = append(s.beginWrite, "SET TRANSACTION ISOLATION LEVEL READ COMMITTED", "START TRANSACTION", lock)
	s.beginRead = []string{"SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"}
	if err := s.migrate(ctx, timeout); err != nil {
		return nil, err
	}
	return s, nil
}

// durable reports why a server with these settings may acknowledge a
// commit that a crash loses, or nil.
func durable(flushLogAtTrxCommit, logBin, syncBinlog int64) error {
	const advice = "an acknowledged revocation could be lost in a server crash; set it to 1, or accept it with WithRelaxedDurability"
	switch {
	case flushLogAtTrxCommit != 1:
		return fmt.Errorf("%w: innodb_flush_log_at_trx_commit is %d, not 1: %s", ErrDurability, flushLogAtTrxCommit, advice)
	case logBin != 0 && syncBinlog != 1:
		return fmt.Errorf("%w: the binary log is on and sync_binlog is %d, not 1: %s", ErrDurability, syncBinlog, advice)
	}
	return nil
}

// Capabilities declares the Store Shared: a revoke.Revoker over it follows
// other processes' revocations by polling every sync interval (MySQL has
// no notifications). Clock reads the server's clock, in whole seconds: a
// Revoker purges by the earlier of its own and this one, so that a replica
// whose clock runs fast cannot purge records the others hold unexpired.
func (s *Store) Capabilities() revoke.Capabilities {
	return revoke.Capabilities{Shared: true, Clock: s.now}
}

func (s *Store) now(ctx context.Context) (time.Time, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var now int64
	err := s.usable()
	if err == nil {
		err = s.db.GetContext(ctx, &now, `SELECT UNIX_TIMESTAMP()`)
	}
	if err != nil {
		return time.Time{}, wrapf(err, "reading the server's clock")
	}
	return time.Unix(now, 0).UTC(), nil
}

// usable returns why the Store cannot run a call, or nil; s.mu is held.
func (s *Store) usable() error {
	switch {
	case s.closed:
		return fmt.Errorf("mysql: %w", revoke.ErrClosed)
	case s.db == nil:
		return errZeroStore
	}
	return nil
}

// Close releases the Store, after waiting for the transactions under way;
// a Store made by Open closes its pool. Later calls of View, Update, Clock
// and Close return an error wrapping revoke.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.usable()
	if err == nil && s.owned {
		if cerr := s.db.Close(); cerr != nil {
			err = wrapf(cerr, "close")
		}
	}
	s.closed = s.closed || s.db != nil
	return err
}
