package mysql_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/internal/servertest"
	"github.com/sdkauth/revocation/mysql"
	"github.com/sdkauth/revocation/revoke"
)

// gate runs the tests against the server of REVOKE_MYSQL_DSN and skips them
// visibly without it (see package servertest).
var gate = servertest.Gate{Package: "mysql", Server: "MySQL", DSNEnv: "REVOKE_MYSQL_DSN", RequiredEnv: "REVOKE_MYSQL_REQUIRED",
	Example: "root@tcp(127.0.0.1:3306)/test"}

var dsn string

func TestMain(m *testing.M) {
	dsn = gate.Main(m)
	os.Exit(m.Run())
}

// TestMainSkipsVisibly: without a DSN the tests skip visibly, and fail in
// CI (see servertest.Gate.TestSkipsVisibly).
func TestMainSkipsVisibly(t *testing.T) { gate.TestSkipsVisibly(t) }

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
