package postgres_test

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
	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// gate runs the tests against the server of REVOKE_POSTGRES_DSN and skips them
// visibly without it (see package servertest).
var gate = servertest.Gate{Package: "postgres", Server: "PostgreSQL", DSNEnv: "REVOKE_POSTGRES_DSN", RequiredEnv: "REVOKE_POSTGRES_REQUIRED",
	Example: "postgres://root@127.0.0.1:5432/test?sslmode=disable"}

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

// openStore opens a Store over the tables of prefix, closed at the end of
// the test.
func openStore(t testing.TB, prefix string, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), dsn, append([]postgres.Option{postgres.WithTablePrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
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

// getOne reads the record of id in tx; found is false if there is none.
func getOne(ctx context.Context, tx revoke.Tx, id revoke.ID) (rec revoke.Record, found bool, err error) {
	recs, err := tx.Get(ctx, []revoke.ID{id})
	if err != nil || len(recs) == 0 {
		return revoke.Record{}, false, err
	}
	return recs[0], true, nil
}
