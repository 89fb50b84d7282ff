package statuslist

import (
	"context"
	"crypto/rand"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver for the cleanup's database/sql
	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// TestReplicasFlipEntriesOverPostgres checks the status list across the
// replicas of an authorization server: a token minted on replica A, with
// an entry of A's list, revoked on replica B, reads revoked in the list
// that A serves (learnt through A's follower of the shared store) as in
// B's. It needs the PostgreSQL of REVOKE_POSTGRES_DSN.
func TestReplicasFlipEntriesOverPostgres(t *testing.T) {
	dsn := os.Getenv("REVOKE_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("REVOKE_POSTGRES_DSN is not set: skipping the replicated status list test")
	}
	ctx := context.Background()
	prefix := "tsl" + strings.ToLower(rand.Text()[:8]) + "_"
	t.Cleanup(func() { dropTables(t, dsn, prefix) })
	replica := func() *revoke.Revoker {
		s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		rv, err := revoke.New(s, revoke.WithFollow(revoke.FollowPolicy{Interval: 50 * time.Millisecond}))
		if err != nil {
			_ = s.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rv.Close() })
		return rv
	}
	a, b := replica(), replica()
	key := newKey(t)
	isA, isB := newIssuer(t, a, key), newIssuer(t, b, key)
	e := issue(t, a, isA, revoke.Token{Value: "minted-on-a", Kind: revoke.Access})
	other := issue(t, a, isA, revoke.Token{Value: "another", Kind: revoke.Access})
	if got := status(t, isA, e, &key.PublicKey); got != 0 {
		t.Fatalf("a live token's entry reads %d", got)
	}
	if n, err := b.Revoke(ctx, "minted-on-a", "client"); err != nil || n != 1 {
		t.Fatalf("Revoke on replica B = %d, %v", n, err)
	}
	waitStatus(t, isB, e, &key.PublicKey, 1)
	waitStatus(t, isA, e, &key.PublicKey, 1)
	if got := status(t, isA, other, &key.PublicKey); got != 0 {
		t.Errorf("another token's entry reads %d after the revocation", got)
	}
}

// dropTables drops the tables whose names start with prefix.
func dropTables(t *testing.T, dsn, prefix string) {
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
	_ = rows.Close()
	for _, name := range tables {
		if _, err := db.Exec(`DROP TABLE IF EXISTS ` + name + ` CASCADE`); err != nil {
			t.Error(err)
		}
	}
}
