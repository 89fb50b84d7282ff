package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/store/storetest"
)

func TestConformance(t *testing.T) {
	var prefixes sync.Map // *postgres.Store -> its table prefix
	storetest.Run(t, func(t *testing.T) revoke.Store {
		prefix := freshPrefix(t)
		s, err := postgres.Open(context.Background(), dsn, postgres.WithTablePrefix(prefix))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		prefixes.Store(s, prefix)
		return s
	}, storetest.WithReopen(func(t *testing.T, s revoke.Store) (revoke.Store, error) {
		// Another replica: a Store of its own, with its own pool and
		// feed, over the same tables.
		prefix, ok := prefixes.Load(s)
		if !ok {
			t.Fatalf("reopen of a Store the suite did not open")
		}
		return postgres.Open(context.Background(), dsn, postgres.WithTablePrefix(prefix.(string)))
	}))
}

// crashBaseEnv passes the crash test's table prefix to the re-executed
// child, which must open the same tables.
const crashBaseEnv = "REVOKE_POSTGRES_TEST_CRASH_PREFIX"

func TestCrash(t *testing.T) {
	base := os.Getenv(crashBaseEnv)
	if base == "" {
		base = freshPrefix(t)
		t.Setenv(crashBaseEnv, base)
	}
	storetest.RunCrash(t, func(path string) (revoke.Store, error) {
		return postgres.Open(context.Background(), dsn, postgres.WithTablePrefix(pathPrefix(base, path)))
	}, 10)
}

// TestAtRest searches every column of every table of the Store for the raw
// token values.
func TestAtRest(t *testing.T) {
	prefix := freshPrefix(t)
	db := admin(t)
	storetest.RunAtRestDump(t, func() (revoke.Store, error) {
		return postgres.Open(context.Background(), dsn, postgres.WithTablePrefix(prefix))
	}, func() ([]byte, error) {
		var tables []string
		if err := db.Select(&tables, `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE starts_with(tablename, $1)`, prefix); err != nil {
			return nil, err
		}
		if len(tables) != 3 {
			return nil, fmt.Errorf("found tables %q, want the tokens, owners and meta tables", tables)
		}
		var out []byte
		for _, tb := range tables {
			// A row as text shows every column, bytea in hex.
			var rows []string
			if err := db.Select(&rows, `SELECT r::text FROM `+tb+` r`); err != nil {
				return nil, err
			}
			out = append(out, strings.Join(rows, "\n")...)
		}
		return out, nil
	})
}
