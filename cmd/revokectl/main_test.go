package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, to drop the scripts' tables
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/revoke"
)

// TestMain makes the test binary double as revokectl: the scripts exec the
// real command, main and all, as a user's shell would.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"revokectl": main,
	})
}

// TestScripts runs the end-to-end scripts in testdata/script. Their own
// commands (see scriptCmds) generate records, hold a bolt lock and send
// signals.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:  "testdata/script",
		Cmds: scriptCmds,
		// postgres: the scripts' postgres parts run against the server in
		// REVOKE_POSTGRES_DSN, each script on tables of its own prefix
		// (PGPREFIX), dropped when it ends; mysql: likewise with
		// REVOKE_MYSQL_DSN and MYPREFIX. long: REVOKE_LONG_TESTS is set (CI
		// sets it), for the large versions of the scripts.
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "postgres":
				return postgresDSN(t) != "", nil
			case "mysql":
				return mysqlDSN(t) != "", nil
			case "long":
				return os.Getenv("REVOKE_LONG_TESTS") != "", nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Setup: func(env *testscript.Env) error {
			env.Setenv("REVOKE_STORE", "") // never the developer's store
			env.Setenv("REVOKE_TOKEN_KEY", "")
			if dsn := postgresDSN(t); dsn != "" {
				prefix := fmt.Sprintf("revokectl_%d_%d_", os.Getpid(), scriptSeq.Add(1))
				env.Setenv("REVOKE_POSTGRES_DSN", dsn)
				env.Setenv("PGPREFIX", prefix)
				env.Defer(func() { dropTables(t, dsn, prefix) })
			}
			if dsn := mysqlDSN(t); dsn != "" {
				prefix := fmt.Sprintf("revokectl_%d_%d_", os.Getpid(), scriptSeq.Add(1))
				env.Setenv("REVOKE_MYSQL_DSN", dsn)
				env.Setenv("MYPREFIX", prefix)
				env.Defer(func() { dropMySQLTables(t, dsn, prefix) })
			}
			return nil
		},
	})
}

var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"rc":         cmdRC,
	"genrecords": cmdGenRecords,
	"readbolt":   cmdReadBolt,
	"serve":      cmdServe,
	"interrupt":  cmdInterrupt,
	"tables":     cmdTables,
}

// rc CODE command args...: exec the command (with the stdin the stdin
// command set) and want exit code CODE.
func cmdRC(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: rc CODE command args...")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("rc: %v", err)
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		got = ee.ExitCode()
	case err != nil:
		ts.Fatalf("rc: %v", err)
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// genRecord returns the i-th record of genrecords and its raw token. Every
// five records make a grant g = i/5: a refresh token (tok-5g), a refresh
// token rotated from it (so tok-5g is spent), an access token minted from that, and two access
// tokens of their own grants. Grants with g%4 == 0 are revoked (Seq g+1),
// as is the fourth token when g%4 == 1 (Seq g+1); the fifth token expired
// an hour ago when g is even. Clients client-(g%3), subjects user-(g%10).
func genRecord(i int, now time.Time) (revoke.Record, string) {
	g, pos := i/5, i%5
	tok := "tok-" + strconv.Itoa(i)
	rec := revoke.Record{
		ID:        revoke.TokenID(tok),
		Check:     revoke.Checksum(tok),
		Kind:      revoke.Access,
		ClientID:  fmt.Sprintf("client-%d", g%3),
		Subject:   fmt.Sprintf("user-%d", g%10),
		ExpiresAt: now.Add(24 * time.Hour),
	}
	rec.Grant = rec.ID
	root := revoke.TokenID("tok-" + strconv.Itoa(5*g))
	switch pos {
	case 0:
		rec.Kind = revoke.Refresh
		rec.Successor, rec.RotatedAt = revoke.TokenID("tok-"+strconv.Itoa(5*g+1)), now.Add(-time.Minute)
	case 1:
		rec.Kind, rec.Parent, rec.Grant = revoke.Refresh, root, root
	case 2:
		rec.Parent, rec.Grant = revoke.TokenID("tok-"+strconv.Itoa(5*g+1)), root
	case 3:
		if g%4 == 1 {
			rec.Seq = uint64(g + 1)
		}
	case 4:
		if g%2 == 0 {
			rec.ExpiresAt = now.Add(-time.Hour)
		}
	}
	if pos <= 2 && g%4 == 0 {
		rec.Seq = uint64(g + 1)
	}
	// Two tokens of three have a Status List entry, the first at the ends
	// of the ranges.
	switch {
	case i == 0:
		rec.Status = revoke.StatusRef{List: math.MaxUint64, Index: math.MaxUint32}
	case i%3 != 2:
		rec.Status = revoke.StatusRef{List: uint64(g%7 + 1), Index: uint32(i)}
	}
	return rec, tok
}

// genrecords N FILE: write N records (see genRecord) to FILE as JSON Lines.
func cmdGenRecords(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: genrecords N FILE")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("genrecords: %v", err)
	}
	f, err := os.Create(ts.MkAbs(args[1]))
	ts.Check(err)
	w := bufio.NewWriter(f)
	now := time.Now().UTC().Truncate(time.Second)
	for i := range n {
		rec, _ := genRecord(i, now)
		j := toJSON(rec)
		fmt.Fprintf(w, `{"id":%q,"check":%d,"kind":%q,"client_id":%q,"subject":%q,`, j.ID, j.Check, j.Kind, j.ClientID, j.Subject)
		if j.Parent != "" {
			fmt.Fprintf(w, `"parent":%q,`, j.Parent)
		}
		if j.Successor != "" {
			fmt.Fprintf(w, `"successor":%q,"rotated_at":%q,`, j.Successor, j.RotatedAt.Format(time.RFC3339Nano))
		}
		if j.Status != nil {
			fmt.Fprintf(w, `"status":{"list":%d,"idx":%d},`, j.Status.List, j.Status.Index)
		}
		fmt.Fprintf(w, `"grant":%q,"expires_at":%q,"seq":%d}`+"\n", j.Grant, j.ExpiresAt.Format(time.RFC3339Nano), j.Seq)
	}
	ts.Check(w.Flush())
	ts.Check(f.Close())
}

// serve URL: open the store at URL in this process with a Revoker, as a
// running server does, until the script ends.
func cmdServe(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: serve URL")
	}
	url := args[0]
	if name, path, ok := strings.Cut(url, ":"); ok {
		url = name + ":" + ts.MkAbs(path)
	}
	s, err := openStore(context.Background(), url, openOptions{lockTimeout: time.Second})
	ts.Check(err)
	r, err := revoke.New(s.Store)
	ts.Check(err)
	ts.Defer(func() { _ = r.Close() })
}

// readbolt PATH: hold the bolt file at PATH open read-only (a shared lock,
// as a concurrent export does) until the script ends.
func cmdReadBolt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: readbolt PATH")
	}
	s, err := bolt.Open(ts.MkAbs(args[0]), bolt.WithReadOnly())
	ts.Check(err)
	ts.Defer(func() { _ = s.Close() })
}

// tables URL PREFIX: print the names of the tables of the sqlite, postgres
// or mysql store at URL whose names start with PREFIX, one a line, read
// with a connection of its own (for postgres, in the current schema; for
// mysql, in the DSN's database).
func cmdTables(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: tables URL PREFIX")
	}
	scheme, arg, _ := strings.Cut(args[0], ":")
	var driver, query string
	switch scheme {
	case "sqlite":
		driver, arg = "sqlite3", "file:"+ts.MkAbs(arg)+"?mode=ro"
		query = `SELECT name FROM sqlite_master WHERE type = 'table' AND substr(name, 1, length(?1)) = ?1 ORDER BY name`
	case "postgres":
		driver = "pgx"
		query = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND starts_with(tablename, $1) ORDER BY tablename`
	case "mysql":
		driver = "mysql"
		query = `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND LOCATE(?, TABLE_NAME) = 1 ORDER BY TABLE_NAME`
	default:
		ts.Fatalf("tables: scheme %q is neither sqlite, postgres nor mysql", scheme)
	}
	db, err := sql.Open(driver, arg)
	ts.Check(err)
	defer db.Close()
	rows, err := db.Query(query, args[1])
	ts.Check(err)
	defer rows.Close()
	for rows.Next() {
		var name string
		ts.Check(rows.Scan(&name))
		fmt.Fprintln(ts.Stdout(), name)
	}
	ts.Check(rows.Err())
}

// interrupt LINES CODE command args...: start the command, send it SIGINT
// once it has written LINES lines to stderr (its progress), and want exit
// code CODE.
func cmdInterrupt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: interrupt LINES CODE command args...")
	}
	lines, err := strconv.Atoi(args[0])
	ts.Check(err)
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[2], args[3:]...)
	cmd.Dir = ts.Getenv("PWD")
	if cmd.Dir == "" {
		cmd.Dir = ts.MkAbs(".")
	}
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	ts.Check(err)
	ts.Check(cmd.Start())
	var got strings.Builder
	sc := bufio.NewScanner(stderr)
	for n := 0; sc.Scan(); {
		got.WriteString(sc.Text() + "\n")
		if n++; n == lines {
			ts.Check(cmd.Process.Signal(syscall.SIGINT))
		}
	}
	err = cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		ts.Fatalf("interrupt: %v", err)
	}
	fmt.Fprint(ts.Stdout(), stdout.String())
	fmt.Fprint(ts.Stderr(), got.String())
	if code != want {
		ts.Fatalf("%s exited with %d after SIGINT, want %d\nstderr:\n%s", args[2], code, want, got.String())
	}
}

// TestCodeOf: the exit code of an error, whatever wraps it: ErrUnavailable
// of any backend is "store unavailable".
func TestCodeOf(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{fmt.Errorf("postgres: connect: %w", revoke.ErrUnavailable), exitUnavailable},
		{fmt.Errorf("open: %w", bolt.ErrLocked), exitUnavailable},
		{fmt.Errorf("x: %w", context.Canceled), exitInterrupted},
		{withCode(exitNotFound, errors.New("gone")), exitNotFound},
		{fmt.Errorf("--from: %w", withCode(exitUsage, errors.New("bad"))), exitUsage},
		{errors.New("disk on fire"), exitFailure},
	}
	for _, c := range cases {
		if got := codeOf(c.err); got != c.want {
			t.Errorf("codeOf(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

// scriptSeq numbers the scripts' postgres table prefixes.
var scriptSeq atomic.Int64

// postgresDSN returns the DSN of the PostgreSQL server the postgres parts of
// the scripts run against, or "" to skip them. With REVOKE_POSTGRES_REQUIRED
// set (CI), a missing DSN fails the test instead.
func postgresDSN(t *testing.T) string {
	dsn := os.Getenv("REVOKE_POSTGRES_DSN")
	if dsn == "" && os.Getenv("REVOKE_POSTGRES_REQUIRED") != "" {
		t.Fatal("REVOKE_POSTGRES_REQUIRED is set but REVOKE_POSTGRES_DSN is not")
	}
	return dsn
}

// mysqlDSN returns the DSN of the MySQL or MariaDB server the mysql parts
// of the scripts run against, or "" to skip them. With
// REVOKE_MYSQL_REQUIRED set, a missing DSN fails the test instead.
func mysqlDSN(t *testing.T) string {
	dsn := os.Getenv("REVOKE_MYSQL_DSN")
	if dsn == "" && os.Getenv("REVOKE_MYSQL_REQUIRED") != "" {
		t.Fatal("REVOKE_MYSQL_REQUIRED is set but REVOKE_MYSQL_DSN is not")
	}
	return dsn
}

// dropMySQLTables drops the tables whose names start with a script's
// prefix, in the DSN's database.
func dropMySQLTables(t *testing.T, dsn, prefix string) {
	dropPrefixed(t, "mysql", dsn, prefix, `SELECT CONCAT('`+"`"+`', TABLE_NAME, '`+"`"+`') FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = DATABASE() AND LOCATE(?, TABLE_NAME) = 1`)
}

// dropTables drops the tables whose names start with a script's prefix,
// in the current schema of the PostgreSQL DSN.
func dropTables(t *testing.T, dsn, prefix string) {
	dropPrefixed(t, "pgx", dsn, prefix,
		`SELECT format('%I', tablename) FROM pg_tables WHERE schemaname = current_schema() AND starts_with(tablename, $1)`)
}

// dropPrefixed drops the tables that list, given prefix, names (quoted),
// over a connection of driver to dsn.
func dropPrefixed(t *testing.T, driver, dsn, prefix, list string) {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Errorf("dropping %s tables: %v", prefix, err)
		return
	}
	defer db.Close()
	rows, err := db.Query(list, prefix)
	if err != nil {
		t.Errorf("dropping %s tables: %v", prefix, err)
		return
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Errorf("dropping %s tables: %v", prefix, err)
		}
		tables = append(tables, name)
	}
	if err := rows.Err(); err != nil {
		t.Errorf("dropping %s tables: %v", prefix, err)
	}
	rows.Close()
	if len(tables) == 0 {
		return
	}
	if _, err := db.Exec(`DROP TABLE IF EXISTS ` + strings.Join(tables, ", ")); err != nil {
		t.Errorf("dropping %s tables: %v", prefix, err)
	}
}

// TestRedacted checks that a password in a store URL never reaches output.
func TestRedacted(t *testing.T) {
	for in, want := range map[string]string{
		"postgres:postgres://app:s3cret@db:5432/auth?sslmode=require": "postgres:postgres://app:xxxxx@db:5432/auth?sslmode=require",
		"postgres:postgres://app@db/auth":                             "postgres:postgres://app@db/auth",
		"bolt:/var/lib/rev.db":                                        "bolt:/var/lib/rev.db",
		"mysql:app:s3c:r@t@tcp(db:3306)/auth?tls=true":                "mysql:app:xxxxx@tcp(db:3306)/auth?tls=true",
		"mysql:app@tcp(db:3306)/auth":                                 "mysql:app@tcp(db:3306)/auth",
		"mysql:root@/auth":                                            "mysql:root@/auth",
		"mysql:/auth":                                                 "mysql:/auth",
	} {
		if got := redacted(in); got != want {
			t.Errorf("redacted(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestHelpHidesStorePassword checks that --help, which prints the flags'
// defaults, does not print the password of a DSN in $REVOKE_STORE.
func TestHelpHidesStorePassword(t *testing.T) {
	t.Setenv("REVOKE_STORE", "postgres:postgres://app:s3cret@db:5432/auth")
	for _, args := range [][]string{{"--help"}, {"stats", "--help"}} {
		var out, errOut bytes.Buffer
		if code := run(args, strings.NewReader(""), &out, &errOut); code != exitOK {
			t.Fatalf("%q: exit %d: %s", args, code, errOut.String())
		}
		if strings.Contains(out.String()+errOut.String(), "s3cret") {
			t.Errorf("%q prints the password of $REVOKE_STORE:\n%s", args, out.String())
		}
	}
}
