package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
)

// Store is a revoke.Store in MySQL or MariaDB tables, which any number of
// processes share. Create one with Open or New; the zero Store fails.
type Store struct {
	db                    *sqlx.DB
	owned, multi, closed  bool // Open made db (Close closes it); statements joined by ";" take one round trip; Close ran
	opts                  options
	q                     queries
	beginWrite, beginRead []string     // the last of beginWrite takes the write lock
	mu                    sync.RWMutex // held for reading by every call, for writing by Close
}

// Open connects to the database of dsn (as github.com/go-sql-driver/mysql
// reads it, with interpolateParams and multiStatements on and wait_timeout
// 30 s), creates or migrates the Store's tables, and returns a Store whose
// Close closes its pool. Its errors wrap revoke.ErrInvalidOption,
// revoke.ErrUnavailable, revoke.ErrVersion (tables of a newer release) or
// ErrDurability.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err == nil && cfg.DBName == "" {
		err = errors.New("names no database")
	}
	var conn driver.Connector
	if err == nil {
		// wait_timeout: the server frees the lock of a replica gone quiet.
		params := map[string]string{"wait_timeout": "30"} // the DSN's own win
		maps.Copy(params, cfg.Params)
		cfg.InterpolateParams, cfg.MultiStatements, cfg.Params = true, true, params
		conn, err = mysql.NewConnector(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("mysql: DSN: %w (%w)", err, revoke.ErrInvalidOption)
	}
	db := sqlx.NewDb(sql.OpenDB(conn), "mysql")
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(20 * time.Second) // below wait_timeout
	s, err := New(ctx, db, opts...)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// New is Open over db, an application's pool of
// github.com/go-sql-driver/mysql, which Close leaves open. Turn on
// interpolateParams and multiStatements in db's DSN (see Caveats).
func New(ctx context.Context, db *sqlx.DB, opts ...Option) (*Store, error) {
	o, err := buildOptions(opts)
	if err == nil && db == nil {
		err = fmt.Errorf("mysql: nil *sqlx.DB: %w", revoke.ErrInvalidOption)
	}
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, opts: o, q: newQueries(o.prefix)}
	var version string
	var flush, logBin, syncBinlog int64
	err = db.QueryRowContext(ctx, `SELECT VERSION(), @@GLOBAL.innodb_flush_log_at_trx_commit, @@GLOBAL.log_bin, @@GLOBAL.sync_binlog`).
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
	if _, err := db.ExecContext(ctx, "DO ?; DO ?", 1, 1); err == nil { // multiStatements and interpolateParams are on
		s.multi, s.beginWrite, s.beginRead = true, []string{strings.Join(s.beginWrite, "; ")}, []string{strings.Join(s.beginRead, "; ")}
	}
	if err := s.migrate(ctx, timeout); err != nil {
		return nil, err
	}
	return s, nil
}

// durable reports why a server with these settings may acknowledge a
// commit that a crash loses, or nil.
func durable(flushLogAtTrxCommit, logBin, syncBinlog int64) error {
	if flushLogAtTrxCommit == 1 && (logBin == 0 || syncBinlog == 1) {
		return nil
	}
	return fmt.Errorf("%w: innodb_flush_log_at_trx_commit is %d, log_bin %d, sync_binlog %d; want 1, and sync_binlog 1 if log_bin is on, "+
		"or an acknowledged revocation could be lost in a server crash (or accept that with WithRelaxedDurability)", ErrDurability, flushLogAtTrxCommit, logBin, syncBinlog)
}

// Capabilities declares the Store Shared; a Revoker follows the others'
// revocations by polling, since MySQL has no notifications.
func (s *Store) Capabilities() revoke.Capabilities { return revoke.Capabilities{Shared: true} }

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

// Close waits for the transactions under way, then closes the pool if Open
// made it.
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
