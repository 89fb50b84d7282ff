package mysql_test

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/internal/servertest"
	"github.com/sdkauth/revocation/mysql"
	"github.com/sdkauth/revocation/revoke"
)

var dialers atomic.Int64

// pool returns a pool of go-sql-driver/mysql over dsn's server, as an
// application might give New, with interpolateParams on and
// multiStatements as multi says, closed at the end of the test; with a
// counter, its connections count their round trips.
func pool(tb testing.TB, multi bool, counter *servertest.TurnCounter) *sqlx.DB {
	tb.Helper()
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.InterpolateParams, cfg.MultiStatements = true, multi
	if counter != nil {
		cfg.Net = fmt.Sprintf("revoke-test-%d", dialers.Add(1))
		gomysql.RegisterDialContext(cfg.Net, func(ctx context.Context, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			return counter.Wrap(conn), nil
		})
	}
	conn, err := gomysql.NewConnector(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	db := sqlx.NewDb(sql.OpenDB(conn), "mysql")
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// TestWriteRoundTrips counts the round trips to the server of the
// Revoker's writes through a pool of one connection that counts them. With
// multiStatements on (Open sets it): an Issue or a Rotate costs four, the
// begin and the write lock in one, the reads, the writes (records and
// owners in one), COMMIT. A Revoke of a grant costs nine: a read-only
// transaction first (its begin, the read, ROLLBACK), then a write
// transaction of six (the begin and lock, the read, the sequence number,
// reading and revoking the grant's records, COMMIT). Without
// multiStatements (an application's pool given to New) the same writes
// work, each begin costing two or three round trips and Put two, or one
// where the transaction read a record of the grant: its owner rows exist,
// and Put sends none (an Issue under a grant, a Rotate).
func TestWriteRoundTrips(t *testing.T) {
	for _, c := range []struct {
		multi                        bool
		issue, member, rotate, grant int
	}{{true, 4, 4, 4, 9}, {false, 7, 6, 6, 12}} {
		t.Run(fmt.Sprintf("multiStatements=%v", c.multi), func(t *testing.T) {
			counter := &servertest.TurnCounter{}
			db := pool(t, c.multi, counter)
			db.SetMaxOpenConns(1)
			s, err := mysql.New(context.Background(), db, mysql.WithTablePrefix(freshPrefix(t)))
			if err != nil {
				t.Fatal(err)
			}
			r := newRevoker(t, s, revoke.WithFollow(revoke.FollowPolicy{Interval: time.Hour}))
			countRoundTrips(t, r, counter, c.issue, c.member, c.rotate, c.grant)
		})
	}
}

func countRoundTrips(t *testing.T, r *revoke.Revoker, counter *servertest.TurnCounter, issue, member, rotate, grant int) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	refresh := func(v string) revoke.Token {
		return revoke.Token{Value: v, Kind: revoke.Refresh, ClientID: "c", Subject: "u", ExpiresAt: exp}
	}
	steps := []struct {
		name string
		max  int
		run  func() error
	}{
		{"Issue of a new grant", issue, func() error { return r.Issue(ctx, refresh("rt")) }},
		{"Issue under a grant", member, func() error {
			return r.Issue(ctx, revoke.Token{Value: "at", Kind: revoke.Access, ClientID: "c", Subject: "u", Parent: "rt", ExpiresAt: exp})
		}},
		{"Rotate", rotate, func() error { return r.Rotate(ctx, "rt", refresh("rt2")) }},
		{"Revoke of a grant", grant, func() error { _, err := r.Revoke(ctx, "rt2", "c"); return err }},
	}
	for _, st := range steps {
		before := counter.Count()
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		n := counter.Count() - before
		t.Logf("%s: %d round trips", st.name, n)
		if n > st.max {
			t.Errorf("%s took %d round trips to the server, want at most %d", st.name, n, st.max)
		}
	}
}
