package main

import (
	"crypto/rand"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
)

// TestRunMySQL runs two replicas over one MySQL or MariaDB database: a
// token revoked through one is refused by the other after its next poll.
func TestRunMySQL(t *testing.T) {
	dsn := os.Getenv("REVOKE_MYSQL_DSN")
	if dsn == "" {
		t.Skip("REVOKE_MYSQL_DSN is not set: skipping the authserver over MySQL")
	}
	prefix := "ex" + strings.ToLower(rand.Text()[:10]) + "_"
	t.Cleanup(func() {
		db := sqlx.MustOpen("mysql", dsn)
		defer db.Close()
		db.MustExec("DROP TABLE IF EXISTS `" + prefix + "tokens`, `" + prefix + "owners`, `" + prefix + "meta`")
	})
	a, logA, stopA := start(t, "-store", "mysql", "-dsn", dsn, "-table-prefix", prefix)
	b, _, stopB := start(t, "-store", "mysql", "-table-prefix", prefix) // -dsn from the environment
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
