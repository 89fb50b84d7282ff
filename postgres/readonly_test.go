package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// tablesWithPrefix counts the tables whose names start with prefix, in
// every schema.
func tablesWithPrefix(t *testing.T, prefix string) int {
	t.Helper()
	var n int
	if err := admin(t).Get(&n, `SELECT count(*) FROM pg_tables WHERE starts_with(tablename, $1)`, prefix); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWithReadOnlyCreatesNothing: WithReadOnly over a prefix (or a schema)
// without tables, a mistyped one, fails with ErrNotMigrated and creates
// nothing.
func TestWithReadOnlyCreatesNothing(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	schema := strings.TrimSuffix(prefix, "_") + "_schema"
	for _, opts := range [][]postgres.Option{
		{postgres.WithReadOnly(), postgres.WithTablePrefix(prefix)},
		{postgres.WithReadOnly(), postgres.WithTablePrefix(prefix), postgres.WithSchema(schema)},
	} {
		s, err := postgres.Open(ctx, dsn, opts...)
		if !errors.Is(err, postgres.ErrNotMigrated) || !errors.Is(err, revoke.ErrReadOnly) {
			if err == nil {
				_ = s.Close()
			}
			t.Fatalf("Open WithReadOnly of a prefix without tables: %v, want ErrNotMigrated and ErrReadOnly", err)
		}
		t.Log(err)
	}
	if n := tablesWithPrefix(t, prefix); n != 0 {
		t.Errorf("Open WithReadOnly created %d tables", n)
	}
	var schemas int
	if err := admin(t).Get(&schemas, `SELECT count(*) FROM pg_namespace WHERE nspname = $1`, schema); err != nil {
		t.Fatal(err)
	}
	if schemas != 0 {
		t.Errorf("Open WithReadOnly created schema %s", schema)
	}
}

// TestWithReadOnlyReads: a read-only Store reads what another committed,
// its Revoker follows later revocations, and every write fails with
// ErrReadOnly.
func TestWithReadOnlyReads(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	ws, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	w := newRevoker(t, ws)
	issueAndRevoke(t, w, "tok-gone")
	live := revoke.Token{Value: "tok-live", Kind: revoke.Access, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)}
	if err := w.Issue(ctx, live); err != nil {
		t.Fatal(err)
	}

	rs, err := postgres.Open(ctx, dsn, postgres.WithReadOnly(), postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatalf("Open WithReadOnly: %v", err)
	}
	r := newRevoker(t, rs)
	if ok, err := r.IsRevoked(ctx, "tok-gone"); !ok || err != nil {
		t.Errorf("IsRevoked of a revoked token = %v, %v", ok, err)
	}
	issueAndRevoke(t, w, "tok-later")
	waitRevoked(t, r, "tok-later")

	if err := rs.Update(ctx, func(revoke.Tx) error { return nil }); !errors.Is(err, revoke.ErrReadOnly) {
		t.Errorf("Update: %v, want ErrReadOnly", err)
	}
	if _, err := r.Revoke(ctx, "tok-live", "c"); !errors.Is(err, revoke.ErrReadOnly) {
		t.Errorf("Revoke: %v, want ErrReadOnly", err)
	}
	err = ws.View(ctx, func(tx revoke.Tx) error {
		rec, found, err := getOne(ctx, tx, revoke.TokenID("tok-live"))
		if found && rec.Revoked() {
			t.Error("a read-only Store's Revoke reached the tables")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
