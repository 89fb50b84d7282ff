package follow_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// TestPropagationOverPostgres runs two Revokers, replicas A and B, over one
// PostgreSQL database, and a follower of A's feed: a revocation made on B
// reaches A by the store's change feed, and the follower through A's feed.
func TestPropagationOverPostgres(t *testing.T) {
	dsn := os.Getenv("REVOKE_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("REVOKE_POSTGRES_DSN is not set (e.g. postgres://root@127.0.0.1:5432/test?sslmode=disable): skipping the PostgreSQL propagation test")
	}
	ctx := context.Background()
	prefix := "t" + strings.ToLower(rand.Text()[:10]) + "_"
	t.Cleanup(func() { dropPrefix(t, dsn, prefix) })
	open := func() revoke.Store {
		s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	storeA := open()
	a := newAuthServer(t, storeA, nil)
	b, err := revoke.New(open())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	revokeNew(t, b, "before")
	eventually(t, "A syncing B's first revocation", func() bool { ok, _ := a.rv.IsRevoked(ctx, "before"); return ok })
	c := follower(t, a.url)
	if !revoked(t, c, "before") {
		t.Error("the snapshot lacks a revocation made on B")
	}
	revokeNew(t, b, "on-b")
	revokeNew(t, a.rv, "on-a")
	eventually(t, "B's revocation reaching A's follower", func() bool { return revoked(t, c, "on-b") })
	eventually(t, "A's revocation reaching A's follower", func() bool { return revoked(t, c, "on-a") })
	if revoked(t, c, "never") {
		t.Error("a token never revoked is revoked")
	}
	// A logged each revocation once, though its own comes back by sync.
	_, head := a.rv.ChangeRange()
	if head != 3 {
		t.Errorf("A's change log head = %d, want 3 (before, on-b and on-a, once each)", head)
	}
}

// dropPrefix drops the tables whose names start with prefix.
func dropPrefix(t *testing.T, dsn, prefix string) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Error(err)
		return
	}
	defer db.Close()
	rows, err := db.Query(`SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE starts_with(tablename, $1)`, prefix)
	if err != nil {
		t.Error(err)
		return
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Error(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	for _, tb := range tables {
		if _, err := db.Exec(`DROP TABLE IF EXISTS ` + tb); err != nil {
			t.Error(err)
		}
	}
}
