package postgres_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// dsnEnv names the environment variable that holds the DSN of the server
// the tests run against.
const dsnEnv = "REVOKE_POSTGRES_DSN"

var dsn string

func TestMain(m *testing.M) {
	dsn = os.Getenv(dsnEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" || os.Getenv("REVOKE_POSTGRES_REQUIRED") != "" {
			fmt.Fprintf(os.Stderr, "postgres: %s is not set, and CI=true or REVOKE_POSTGRES_REQUIRED is: the PostgreSQL tests must run\n", dsnEnv)
			os.Exit(1)
		}
		fmt.Printf("postgres: skipping the PostgreSQL tests: set %s (e.g. postgres://root@127.0.0.1:5432/test?sslmode=disable)\n", dsnEnv)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// admin returns a pool for the tests' own statements, closed at the end of
// the test.
func admin(t testing.TB) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// freshPrefix returns a table prefix no other test uses, and drops every
// table whose name starts with it when the test ends.
func freshPrefix(t testing.TB) string {
	t.Helper()
	p := "t" + strings.ToLower(rand.Text()[:10]) + "_"
	t.Cleanup(func() { dropPrefix(t, p) })
	return p
}

// dropPrefix drops the tables whose names start with prefix, in every
// schema.
func dropPrefix(t testing.TB, prefix string) {
	t.Helper()
	if err := dropTables(prefix); err != nil {
		t.Errorf("dropping the tables of prefix %s: %v", prefix, err)
	}
}

func dropTables(prefix string) error {
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	var tables []string
	err = db.Select(&tables, `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE starts_with(tablename, $1)`, prefix)
	if err != nil {
		return err
	}
	for _, tb := range tables {
		if _, err := db.Exec(`DROP TABLE IF EXISTS ` + tb); err != nil {
			return err
		}
	}
	return nil
}

// pathPrefix maps a path of storetest's file-based helpers to a table
// prefix under base: the same path always names the same tables, in this
// process and in a re-executed child.
func pathPrefix(base, path string) string {
	h := sha256.Sum256([]byte(path))
	return base + hex.EncodeToString(h[:6]) + "_"
}

// newRevoker returns a Revoker over s, closed at the end of the test.
func newRevoker(t testing.TB, s revoke.Store, opts ...revoke.Option) *revoke.Revoker {
	t.Helper()
	r, err := revoke.New(s, opts...)
	if err != nil {
		t.Fatalf("revoke.New: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}
