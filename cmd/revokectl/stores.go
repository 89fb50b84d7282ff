package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	neturl "net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/sqlite"
)

// schemes are the store URLs revokectl opens, by scheme: "bolt:PATH" opens
// the bbolt file at PATH. Another backend is one more entry.
var schemes = map[string]scheme{
	"bolt": {
		help: "bolt:PATH     a bbolt file (one process at a time: a running server holds its lock)",
		open: openBolt,
	},
	"sqlite": {
		help: "sqlite:PATH   an SQLite database (works beside a running server)",
		open: openSQLite,
	},
	"postgres": {
		help: "postgres:DSN  a PostgreSQL database, tables prefixed revoke_ (works beside running servers),\n                e.g. postgres:postgres://user@host/db",
		open: openPostgres,
	},
	"mysql": {
		help: "mysql:DSN     a MySQL or MariaDB database, tables prefixed revoke_ (works beside running servers),\n                e.g. mysql:user@tcp(host:3306)/db",
		open: openMySQL,
	},
}

// scheme opens the stores of one URL scheme.
type scheme struct {
	help string // one line for --help: "name:ARG   what it is"
	open func(ctx context.Context, arg string, o openOptions) (*store, error)
}

// openOptions say how a command uses the store.
type openOptions struct {
	// create allows creating a store that does not exist, or its tables,
	// and migrating tables of an older schema version (import, the target
	// of migrate); other commands fail with exitNotFound.
	create bool
	// readOnly opens the store for reading only: bolt under a shared lock,
	// sqlite and postgres WithReadOnly (nothing created, migrated or
	// written), mysql with Update refused (see openMySQL).
	readOnly bool
	// lockTimeout bounds the wait for a file lock (bolt).
	lockTimeout time.Duration
	// tablePrefix is the prefix of the tables (sqlite, postgres, mysql);
	// empty means the backend's default.
	tablePrefix string
}

// store is an open store and what stats reports about it.
type store struct {
	revoke.Store
	url    string
	schema string                                   // schema or format version
	size   func(ctx context.Context) (int64, error) // bytes on disk, nil if unknown
}

// Close closes the store, unless a Revoker took it over (Store set to nil).
func (s *store) Close() error {
	if s.Store == nil {
		return nil
	}
	return s.Store.Close()
}

// schemeHelp lists the schemes for --help.
func schemeHelp() string {
	names := make([]string, 0, len(schemes))
	for name := range schemes {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, name := range names {
		b.WriteString("  " + schemes[name].help + "\n")
	}
	return b.String()
}

// openStore opens the store that url names.
func openStore(ctx context.Context, url string, o openOptions) (*store, error) {
	name, arg, ok := strings.Cut(url, ":")
	sc, known := schemes[name]
	switch {
	case url == "":
		return nil, usagef("no store: give --store URL or set REVOKE_STORE (schemes:\n%s)", schemeHelp())
	case !ok || !known:
		return nil, usagef("store %q: unknown scheme %q; want one of:\n%s", url, name, schemeHelp())
	case arg == "":
		return nil, usagef("store %q: nothing after %q", url, name+":")
	}
	s, err := sc.open(ctx, arg, o)
	if err != nil {
		return nil, err
	}
	s.url = redacted(url)
	return s, nil
}

// redacted returns a store URL fit to print: a password in a postgres
// DSN (postgres:postgres://user:secret@host/db) or a mysql one
// (mysql:user:secret@tcp(host)/db) is replaced by xxxxx.
func redacted(storeURL string) string {
	name, arg, _ := strings.Cut(storeURL, ":")
	if name == "mysql" {
		return name + ":" + redactedMySQL(arg)
	}
	if u, err := neturl.Parse(arg); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			return name + ":" + u.Redacted()
		}
	}
	return storeURL
}

// mustExist fails with exitNotFound when path does not exist and the command
// may not create it.
func mustExist(path string, o openOptions) error {
	if o.create {
		return nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return withCode(exitNotFound, fmt.Errorf("store %s does not exist", path))
	}
	return nil
}

func fileSize(paths ...string) func(context.Context) (int64, error) {
	return func(context.Context) (int64, error) {
		var n int64
		for i, p := range paths {
			fi, err := os.Stat(p)
			if err != nil {
				if i > 0 && errors.Is(err, fs.ErrNotExist) {
					continue // SQLite's -wal and -shm come and go
				}
				return 0, err
			}
			n += fi.Size()
		}
		return n, nil
	}
}

func openBolt(_ context.Context, path string, o openOptions) (*store, error) {
	if err := mustExist(path, o); err != nil {
		return nil, err
	}
	opts := []bolt.Option{bolt.WithTimeout(o.lockTimeout)}
	if o.readOnly {
		opts = append(opts, bolt.WithReadOnly())
	}
	s, err := bolt.Open(path, opts...)
	if errors.Is(err, bolt.ErrLocked) {
		return nil, withCode(exitUnavailable, fmt.Errorf("%w (waited %v: is a server running on it? bolt serves one process at a time; stop it, or use --lock-timeout)", err, o.lockTimeout))
	}
	if err != nil {
		return nil, err
	}
	return &store{Store: s, schema: "bolt format " + strconv.Itoa(bolt.FormatVersion), size: fileSize(path)}, nil
}

// noTables returns err, the error of opening a store read-only whose tables
// are missing or at an older schema version, as exitNotFound, naming the
// prefix.
func noTables(err error, o openOptions) error {
	return withCode(exitNotFound, fmt.Errorf("%w\n(is --table-prefix %q the servers' prefix? only import and migrate --to create tables)", err, o.tablePrefix))
}

func openSQLite(_ context.Context, path string, o openOptions) (*store, error) {
	if err := mustExist(path, o); err != nil {
		return nil, err
	}
	opts := []sqlite.Option{sqlite.WithBusyTimeout(max(o.lockTimeout, sqlite.DefaultBusyTimeout))}
	if o.tablePrefix != "" {
		opts = append(opts, sqlite.WithTablePrefix(o.tablePrefix))
	}
	if !o.create {
		// Check, without writing, that the tables are there at this
		// version: only the commands that may create a store create or
		// migrate tables.
		s, err := sqlite.Open(path, append(opts, sqlite.WithReadOnly())...)
		if errors.Is(err, sqlite.ErrNotMigrated) {
			return nil, noTables(err, o)
		}
		if err != nil || o.readOnly {
			return sqliteStore(s, path), err
		}
		if err := s.Close(); err != nil {
			return nil, err
		}
	}
	s, err := sqlite.Open(path, opts...)
	return sqliteStore(s, path), err
}

func sqliteStore(s *sqlite.Store, path string) *store {
	if s == nil {
		return nil
	}
	return &store{Store: s, schema: "sqlite schema " + strconv.Itoa(sqlite.SchemaVersion()), size: fileSize(path, path+"-wal")}
}

func openPostgres(ctx context.Context, dsn string, o openOptions) (*store, error) {
	opts := []postgres.Option{postgres.WithLockTimeout(max(o.lockTimeout, time.Second))}
	if o.tablePrefix != "" {
		opts = append(opts, postgres.WithTablePrefix(o.tablePrefix))
	}
	if !o.create {
		// As for sqlite: the tables must be there at this version.
		s, err := postgres.Open(ctx, dsn, append(opts, postgres.WithReadOnly())...)
		if errors.Is(err, postgres.ErrNotMigrated) {
			return nil, noTables(err, o)
		}
		if err != nil || o.readOnly {
			return postgresStore(s, dsn, o), err
		}
		if err := s.Close(); err != nil {
			return nil, err
		}
	}
	s, err := postgres.Open(ctx, dsn, opts...)
	return postgresStore(s, dsn, o), err
}

func postgresStore(s *postgres.Store, dsn string, o openOptions) *store {
	if s == nil {
		return nil
	}
	return &store{Store: s, schema: "postgres schema " + strconv.Itoa(postgres.SchemaVersion()), size: postgresSize(dsn, cmp.Or(o.tablePrefix, postgres.DefaultTablePrefix))}
}
