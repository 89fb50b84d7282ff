package mysql_test

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
	"github.com/sdkauth/revocation/mysql"
	"github.com/sdkauth/revocation/revoke"
)

// dsnEnv names the environment variable that holds the DSN of the server
// the tests run against.
const dsnEnv = "REVOKE_MYSQL_DSN"

var dsn string

// requiredEnv names the environment variable that, set, makes a missing DSN
// a failure rather than a skip (CI=true does too).
const requiredEnv = "REVOKE_MYSQL_REQUIRED"

// noTestsToRun is the line of the testing package that go test looks for in
// a passing package's output to add "[no tests to run]" to its summary line,
// the only part of that output it shows without -v.
const noTestsToRun = "testing: warning: no tests to run"

func TestMain(m *testing.M) {
	dsn = os.Getenv(dsnEnv)
	if dsn == "" {
		if os.Getenv("CI") == "true" || os.Getenv(requiredEnv) != "" {
			fmt.Fprintf(os.Stderr, "mysql: %s is not set, and CI=true or %s is: the MySQL tests must run\n", dsnEnv, requiredEnv)
			os.Exit(1)
		}
		// go test drops a passing package's output unless -v is given, so
		// the skip is told twice: in words, and as the line that makes the
		// summary read "ok .../mysql [no tests to run]".
		fmt.Fprintf(os.Stderr, "mysql: %s is not set: skipping the MySQL tests (set it, e.g. to root@tcp(127.0.0.1:3306)/test)\n", dsnEnv)
		fmt.Fprintln(os.Stderr, noTestsToRun)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestMainSkipsVisibly runs this test binary again without a DSN: it must
// exit 0 with the skip on standard error, including the line go test turns
// into "[no tests to run]"; with REVOKE_MYSQL_REQUIRED set, or CI=true, it
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
	if code != 0 || !strings.Contains(stderr, "mysql: "+dsnEnv+" is not set: skipping the MySQL tests") ||
		!strings.HasSuffix(stderr, "\n"+noTestsToRun+"\n") || stdout != "" {
		t.Errorf("without a DSN: exit %d, stdout %q, stderr %q; want 0, the skip and %q on stderr", code, stdout, stderr, noTestsToRun)
	}
	for _, required := range []string{requiredEnv + "=1", "CI=true"} {
		_, stderr, code := runMain(required)
		if code != 1 || !strings.Contains(stderr, "the MySQL tests must run") || strings.Contains(stderr, noTestsToRun) {
			t.Errorf("without a DSN, %s: exit %d, stderr %q; want 1, must run", required, code, stderr)
		}
	}
}

// admin returns a pool for the tests' own statements, closed at the end of
// the test.
func admin(t testing.TB) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// freshPrefix returns a table prefix no other test uses, and drops the
// tables of that prefix when the test ends.
func freshPrefix(t testing.TB) string {
	t.Helper()
	p := "t" + strings.ToLower(rand.Text()[:10]) + "_"
	t.Cleanup(func() {
		if err := dropTables(p); err != nil {
			t.Errorf("dropping the tables of prefix %s: %v", p, err)
		}
	})
	return p
}

// tablesOf returns the names of the tables of the database whose names
// start with prefix.
func tablesOf(db *sqlx.DB, prefix string) ([]string, error) {
	var tables []string
	err := db.Select(&tables, `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND LEFT(TABLE_NAME, CHAR_LENGTH(?)) = ?`, prefix, prefix)
	return tables, err
}

func dropTables(prefix string) error {
	db, err := sqlx.Open("mysql", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	tables, err := tablesOf(db, prefix)
	if err != nil {
		return err
	}
	for _, tb := range tables {
		if _, err := db.Exec("DROP TABLE IF EXISTS `" + tb + "`"); err != nil {
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

// open opens a Store over the tables of prefix, closed at the end of the
// test.
func open(t testing.TB, prefix string, opts ...mysql.Option) *mysql.Store {
	t.Helper()
	s, err := mysql.Open(context.Background(), dsn, append([]mysql.Option{mysql.WithTablePrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
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
