package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
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

// requiredEnv names the environment variable that, set, makes a missing DSN
// a failure rather than a skip (CI=true does too).
const requiredEnv = "REVOKE_POSTGRES_REQUIRED"

// noTestsToRun is the line of the testing package that go test looks for in
// a passing package's output to add "[no tests to run]" to its summary line,
// the only part of that output it shows without -v.
const noTestsToRun = "testing: warning: no tests to run"

func TestMain(m *testing.M) {
	dsn = os.Getenv(dsnEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" || os.Getenv(requiredEnv) != "" {
			fmt.Fprintf(os.Stderr, "postgres: %s is not set, and CI=true or %s is: the PostgreSQL tests must run\n", dsnEnv, requiredEnv)
			os.Exit(1)
		}
		// go test drops a passing package's output unless -v is given, so
		// the skip is told twice: in words, and as the line that makes the
		// summary read "ok .../postgres [no tests to run]".
		fmt.Fprintf(os.Stderr, "postgres: %s is not set: skipping the PostgreSQL tests (set it, e.g. to postgres://root@127.0.0.1:5432/test?sslmode=disable)\n", dsnEnv)
		fmt.Fprintln(os.Stderr, noTestsToRun)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestMainSkipsVisibly runs this test binary again without a DSN: it must
// exit 0 with the skip on standard error, including the line go test turns
// into "[no tests to run]"; with REVOKE_POSTGRES_REQUIRED set, or CI=true, it
// must fail instead.
func TestMainSkipsVisibly(t *testing.T) {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != dsnEnv && name != requiredEnv && name != "CI" {
			env = append(env, kv)
		}
	}
	runMain := func(extra ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.count=1")
		cmd.Env = append(env[:len(env):len(env)], extra...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee):
			code = ee.ExitCode()
		default:
			t.Fatal(err)
		}
		return out.String(), errOut.String(), code
	}
	stdout, stderr, code := runMain()
	if code != 0 || !strings.Contains(stderr, "postgres: "+dsnEnv+" is not set: skipping the PostgreSQL tests") ||
		!strings.HasSuffix(stderr, "\n"+noTestsToRun+"\n") || stdout != "" {
		t.Errorf("without a DSN: exit %d, stdout %q, stderr %q; want 0, the skip and %q on stderr", code, stdout, stderr, noTestsToRun)
	}
	for _, required := range []string{requiredEnv + "=1", "CI=true"} {
		_, stderr, code := runMain(required)
		if code != 1 || !strings.Contains(stderr, "the PostgreSQL tests must run") || strings.Contains(stderr, noTestsToRun) {
			t.Errorf("without a DSN, %s: exit %d, stderr %q; want 1, must run", required, code, stderr)
		}
	}
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

// getOne reads the record of id in tx; found is false if there is none.
func getOne(ctx context.Context, tx revoke.Tx, id revoke.ID) (rec revoke.Record, found bool, err error) {
	recs, err := tx.Get(ctx, []revoke.ID{id})
	if err != nil || len(recs) == 0 {
		return revoke.Record{}, false, err
	}
	return recs[0], true, nil
}
