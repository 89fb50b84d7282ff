package main

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// TestRunPostgres runs two replicas over one PostgreSQL database: a token
// revoked through one is refused by the other.
func TestRunPostgres(t *testing.T) {
	dsn := os.Getenv("REVOKE_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("REVOKE_POSTGRES_DSN is not set: skipping the authserver over PostgreSQL")
	}
	prefix := "ex" + strings.ToLower(rand.Text()[:10]) + "_"
	t.Cleanup(func() {
		db := sqlx.MustOpen("pgx", dsn)
		defer db.Close()
		db.MustExec(fmt.Sprintf(`DROP TABLE IF EXISTS %q, %q`, prefix+"tokens", prefix+"meta"))
	})
	a, logA, stopA := start(t, "-store", "postgres", "-dsn", dsn, "-table-prefix", prefix)
	b, _, stopB := start(t, "-store", "postgres", "-table-prefix", prefix) // -dsn from the environment
	tok := a.mint("my-app")
	if r := b.protected(tok.AccessToken); r.status != http.StatusOK {
		t.Fatalf("live token on replica B: %d %s", r.status, r.body)
	}
	if r := a.revoke(tok.RefreshToken, "my-app"); r.status != http.StatusOK {
		t.Fatalf("revoke on replica A: %d %s", r.status, r.body)
	}
	waitFor(t, "replica B refusing the revoked token", func() bool {
		return b.protected(tok.AccessToken).status == http.StatusUnauthorized
	})
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
	if err := stopA(); err != nil {
		t.Fatalf("run: %v\n%s", err, logA.String())
	}
}

// waitFor waits up to 5s for cond.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
