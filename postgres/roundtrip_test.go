package postgres_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/internal/servertest"
	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// countedStore returns a Store over prefix's tables whose pool (of one
// connection) counts its round trips, and which declares no change feed,
// so that no catch-up of the Revoker's runs while a write is counted.
func countedStore(t *testing.T, prefix string) (revoke.Store, *servertest.TurnCounter) {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	counter := &servertest.TurnCounter{}
	dial := cfg.DialFunc
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return counter.Wrap(c), nil
	}
	db := sqlx.NewDb(stdlib.OpenDB(*cfg), "pgx")
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	s, err := postgres.New(context.Background(), db, postgres.WithTablePrefix(prefix), postgres.WithListenDSN(dsn))
	if err != nil {
		t.Fatal(err)
	}
	return pollOnly{s}, counter
}

// TestWriteRoundTrips counts the round trips to the server of the
// Revoker's writes through a connection that counts them: an Issue (a
// new grant, and a token under a grant) and a Rotate cost two each, BEGIN
// and the reads in one, the writes and COMMIT in the other. A Revoke of a
// grant costs six: a read-only transaction first (BEGIN and the read,
// ROLLBACK), then a write transaction of four (BEGIN and the read, the
// sequence number, the grant's records, COMMIT).
func TestWriteRoundTrips(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	s, counter := countedStore(t, prefix)
	r := newRevoker(t, s, revoke.WithFollow(revoke.FollowPolicy{Interval: time.Hour}))
	exp := time.Now().Add(time.Hour)
	refresh := func(v string) revoke.Token {
		return revoke.Token{Value: v, Kind: revoke.Refresh, ClientID: "c", Subject: "u", ExpiresAt: exp}
	}
	access := func(v, parent string) revoke.Token {
		return revoke.Token{Value: v, Kind: revoke.Access, ClientID: "c", Subject: "u", Parent: parent, ExpiresAt: exp}
	}
	steps := []struct {
		name string
		max  int
		run  func(round string) error
	}{
		{"Issue of a new grant", 2, func(n string) error { return r.Issue(ctx, refresh("rt"+n)) }},
		{"Issue under a grant", 2, func(n string) error { return r.Issue(ctx, access("at"+n, "rt"+n)) }},
		{"Rotate", 2, func(n string) error { return r.Rotate(ctx, "rt"+n, refresh("rt2"+n)) }},
		{"Revoke of a grant", 6, func(n string) error { _, err := r.Revoke(ctx, "rt2"+n, "c"); return err }},
	}
	// The first round prepares the statements on the connection: pgx
	// describes a statement once per connection, in a round trip of its
	// own.
	for round, name := range []string{"warm", "counted"} {
		for _, st := range steps {
			before := counter.Count()
			if err := st.run(name); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			n := counter.Count() - before
			if round == 1 {
				t.Logf("%s: %d round trips", st.name, n)
				if n > st.max {
					t.Errorf("%s took %d round trips to the server, want at most %d", st.name, n, st.max)
				}
			}
		}
	}
}
