package mysql_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/sdkauth/revocation/mysql"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/store/storetest"
)

func TestConformance(t *testing.T) {
	var prefixes sync.Map // *mysql.Store -> its table prefix
	storetest.Run(t, func(t *testing.T) revoke.Store {
		prefix := freshPrefix(t)
		s, err := mysql.Open(context.Background(), dsn, mysql.WithTablePrefix(prefix))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		prefixes.Store(s, prefix)
		return s
	}, storetest.WithReopen(func(t *testing.T, s revoke.Store) (revoke.Store, error) {
		// Another replica: a Store with its own pool over the same tables.
		prefix, ok := prefixes.Load(s)
		if !ok {
			t.Fatalf("reopen of a Store the suite did not open")
		}
		return mysql.Open(context.Background(), dsn, mysql.WithTablePrefix(prefix.(string)))
	}))
}

// TestConformanceWithoutMultiStatements runs the suite on Stores made by
// New over pools whose DSN leaves multiStatements off, as an
// application's may: each statement then takes a round trip of its own.
func TestConformanceWithoutMultiStatements(t *testing.T) {
	var prefixes sync.Map // *mysql.Store -> its table prefix
	open := func(t *testing.T, prefix string) (revoke.Store, error) {
		db := pool(t, false, nil)
		s, err := mysql.New(context.Background(), db, mysql.WithTablePrefix(prefix))
		if err == nil {
			prefixes.Store(s, prefix)
		}
		return s, err
	}
	storetest.Run(t, func(t *testing.T) revoke.Store {
		s, err := open(t, freshPrefix(t))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return s
	}, storetest.WithReopen(func(t *testing.T, s revoke.Store) (revoke.Store, error) {
		prefix, ok := prefixes.Load(s)
		if !ok {
			t.Fatalf("reopen of a Store the suite did not open")
		}
		return open(t, prefix.(string))
	}))
}

// crashBaseEnv passes the crash test's table prefix to the re-executed
// child, which must open the same tables.
const crashBaseEnv = "REVOKE_MYSQL_TEST_CRASH_PREFIX"

func TestCrash(t *testing.T) {
	base := os.Getenv(crashBaseEnv)
	if base == "" {
		base = freshPrefix(t)
		t.Setenv(crashBaseEnv, base)
	}
	storetest.RunCrash(t, func(path string) (revoke.Store, error) {
		return mysql.Open(context.Background(), dsn, mysql.WithTablePrefix(pathPrefix(base, path)))
	}, 10)
}

// TestAtRest searches every column of every table of the Store for the raw
// token values.
func TestAtRest(t *testing.T) {
	prefix := freshPrefix(t)
	db := admin(t)
	storetest.RunAtRestDump(t, func() (revoke.Store, error) {
		return mysql.Open(context.Background(), dsn, mysql.WithTablePrefix(prefix))
	}, func() ([]byte, error) {
		tables, err := tablesOf(db, prefix)
		if err != nil {
			return nil, err
		}
		if len(tables) != 3 {
			return nil, fmt.Errorf("found tables %q, want the tokens, owners and meta tables", tables)
		}
		var out []byte
		for _, tb := range tables {
			rows, err := db.Queryx("SELECT * FROM `" + tb + "`")
			if err != nil {
				return nil, err
			}
			for rows.Next() {
				cols, err := rows.SliceScan()
				if err != nil {
					rows.Close()
					return nil, err
				}
				out = append(out, strings.TrimSpace(fmt.Sprintf("%s\n", cols))...)
			}
			rows.Close()
		}
		return out, nil
	})
}
