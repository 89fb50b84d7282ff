package mysql_test

import (
	"context"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/mysql"
	"github.com/sdkauth/revocation/revoke"
)

// TestMultiStatementsWithoutInterpolation: New over a pool whose DSN turns
// multiStatements on but leaves interpolateParams off, which the server
// cannot prepare statements joined by ";" for, still writes.
func TestMultiStatementsWithoutInterpolation(t *testing.T) {
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.InterpolateParams, cfg.MultiStatements = false, true
	db, err := sqlx.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	s, err := mysql.New(ctx, db, mysql.WithTablePrefix(freshPrefix(t)))
	if err != nil {
		t.Fatal(err)
	}
	r := newRevoker(t, s)
	exp := time.Now().Add(time.Hour)
	if err := r.Issue(ctx, revoke.Token{Value: "rt", Kind: revoke.Refresh, ClientID: "app", Subject: "alice", ExpiresAt: exp}); err != nil {
		t.Fatalf("Issue: %v", err)
	}
	if n, err := r.RevokeSubject(ctx, "alice"); err != nil || n != 1 {
		t.Fatalf("RevokeSubject: %d, %v; want 1 token", n, err)
	}
}
