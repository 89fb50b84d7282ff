package main

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/sdkauth/revocation/mysql"
	"github.com/sdkauth/revocation/revoke"
)

// mysqlTables are the tables a mysql store of prefix p keeps: p+name for
// each name (see the mysql package's documentation).
var mysqlTables = []string{"tokens", "owners", "meta"}

// openMySQL opens a mysql store. The mysql package has no read-only mode:
// its Open creates the tables, or migrates them. So the commands that may
// not create a store first look, with a connection of their own, for the
// tables, failing with exitNotFound when they are not there; and the
// read-only commands get a store whose Update fails with revoke.ErrReadOnly.
func openMySQL(ctx context.Context, dsn string, o openOptions) (*store, error) {
	prefix := cmp.Or(o.tablePrefix, mysql.DefaultTablePrefix)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, fmt.Errorf("mysql: DSN: %w (%w)", err, revoke.ErrInvalidOption)
	}
	defer db.Close()
	if !o.create {
		var n int
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?`,
			prefix+"meta").Scan(&n)
		switch {
		case err != nil:
			return nil, mysqlError("looking for the tables", err)
		case n == 0:
			return nil, noTables(fmt.Errorf("mysql: no tables of prefix %q in the database", prefix), o)
		}
	}
	s, err := mysql.Open(ctx, dsn, mysql.WithTablePrefix(prefix), mysql.WithLockTimeout(max(o.lockTimeout, time.Second)))
	if err != nil {
		return nil, err
	}
	var version int64
	// The prefix is valid: Open checked it.
	if err := db.QueryRowContext(ctx, "SELECT value FROM `"+prefix+"meta` WHERE name = 'schema_version'").Scan(&version); err != nil {
		return nil, errors.Join(mysqlError("reading the schema version", err), s.Close())
	}
	var rs revoke.Store = s
	if o.readOnly {
		rs = readOnlyStore{s}
	}
	return &store{Store: rs, schema: "mysql schema " + strconv.FormatInt(version, 10), size: mysqlSize(dsn, prefix)}, nil
}

// mysqlError returns the error "mysql: what: err", also wrapping
// revoke.ErrUnavailable unless the server answered it or the command was
// interrupted, as the errors of the mysql package do.
func mysqlError(what string, err error) error {
	if errors.As(err, new(*gomysql.MySQLError)) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("mysql: %s: %w", what, err)
	}
	return fmt.Errorf("mysql: %s: %w (%w)", what, err, revoke.ErrUnavailable)
}

// readOnlyStore is a Store whose Update fails: what the read-only commands
// open, since the mysql package has no read-only mode.
type readOnlyStore struct{ revoke.Store }

// Update fails with an error wrapping revoke.ErrReadOnly.
func (readOnlyStore) Update(context.Context, func(revoke.Tx) error) error {
	return fmt.Errorf("mysql: opened by a read-only command: %w", revoke.ErrReadOnly)
}

// mysqlSize returns a function that reads the bytes on disk of the tables
// of prefix in dsn's database, data and indexes, as information_schema
// reports them (InnoDB's estimate, refreshed by its statistics).
func mysqlSize(dsn, prefix string) func(ctx context.Context) (int64, error) {
	return func(ctx context.Context) (int64, error) {
		db, err := sql.Open("mysql", dsn)
		if err != nil {
			return 0, fmt.Errorf("mysql: reading the size of the tables: %w", err)
		}
		defer db.Close()
		names := make([]any, len(mysqlTables))
		for i, t := range mysqlTables {
			names[i] = prefix + t
		}
		var size, n int64
		err = db.QueryRowContext(ctx, `SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0), COUNT(*) FROM information_schema.TABLES
			WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?`+strings.Repeat(", ?", len(names)-1)+`)`, names...).Scan(&size, &n)
		switch {
		case err != nil:
			return 0, fmt.Errorf("mysql: reading the size of the tables: %w", err)
		case n != int64(len(names)):
			return 0, fmt.Errorf("mysql: reading the size of the tables: %d of the tables %v found", n, names)
		}
		return size, nil
	}
}

// redactedMySQL returns a mysql DSN fit to print: its password, between the
// first ':' and the last '@' before the database name, replaced by xxxxx.
func redactedMySQL(dsn string) string {
	slash := strings.LastIndexByte(dsn, '/')
	at := strings.LastIndexByte(dsn[:max(slash, 0)], '@')
	if user, _, ok := strings.Cut(dsn[:max(at, 0)], ":"); ok {
		return user + ":xxxxx" + dsn[at:]
	}
	return dsn
}
