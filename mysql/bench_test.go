package mysql_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sdkauth/revocation/mysql"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/store/storebench"
)

// BenchmarkStore runs the common benchmarks of package storebench, each
// Store on tables of a prefix of its own. The bytes written per token are
// the server's: the InnoDB redo log it wrote (Innodb_os_log_written),
// which holds every row and index change. Without REVOKE_MYSQL_DSN,
// TestMain skips it, as every test of the package.
func BenchmarkStore(b *testing.B) {
	db := admin(b)
	redoBytes := func() (int64, error) {
		var row struct {
			Name  string `db:"Variable_name"`
			Value int64  `db:"Value"`
		}
		err := db.Get(&row, `SHOW GLOBAL STATUS LIKE 'Innodb_os_log_written'`)
		return row.Value, err
	}
	storebench.Run(b, func(b *testing.B) revoke.Store {
		s, err := mysql.Open(context.Background(), dsn, mysql.WithTablePrefix(freshPrefix(b)))
		if err != nil {
			b.Fatal(err)
		}
		return s
	}, storebench.WithWriteMeter(redoBytes))
}

// BenchmarkPropagation measures how long a revocation committed through
// one replica takes to reach IsRevoked on another, two Stores with pools of
// their own over the same tables, the other following by polling every
// 50ms (MySQL has no notifications): from the moment Revoke returned on
// the writer to the moment IsRevoked reports the token on the follower
// (checked every 100µs), one revocation every 7ms. It reports the median,
// the 99th percentile and the worst of b.N revocations (run it with
// -benchtime=200x).
func BenchmarkPropagation(b *testing.B) {
	prefix := freshPrefix(b)
	follow := revoke.WithFollow(revoke.FollowPolicy{Interval: 50 * time.Millisecond})
	writer := newRevoker(b, open(b, prefix), follow)
	reader := newRevoker(b, open(b, prefix), follow)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		tok := fmt.Sprintf("prop-%d-%s", i, prefix)
		if err := writer.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Access, ClientID: "app", ExpiresAt: exp}); err != nil {
			b.Fatal(err)
		}
		if _, err := writer.Revoke(ctx, tok, "app"); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for {
			if ok, err := reader.IsRevoked(ctx, tok); err != nil {
				b.Fatal(err)
			} else if ok {
				break
			}
			if time.Since(start) > 10*time.Second {
				b.Fatalf("revocation %d not seen by the other replica after 10s", i)
			}
			time.Sleep(100 * time.Microsecond)
		}
		lat = append(lat, time.Since(start))
		time.Sleep(7 * time.Millisecond)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkWriteTransaction times the parts of one write transaction as
// IssueLoad's group commits send them, with no Revoker: a Get of the
// tokens' IDs and their parents', then a Put of the tokens. NewGrants puts
// 31 refresh tokens, each a grant of its own; LoginMix puts what IssueLoad's
// logins do, 6 refresh tokens and 25 access tokens under grants stored
// before, whose records the Get returns. It reports, per transaction, the
// time to the start of fn (the begin and the write lock), of the Get, of
// the Put, and of the commit.
func BenchmarkWriteTransaction(b *testing.B) {
	for _, c := range []struct {
		name    string
		refresh int
	}{{"NewGrants", 31}, {"LoginMix", 6}} {
		b.Run(c.name, func(b *testing.B) { benchWriteTransaction(b, c.refresh) })
	}
}

func benchWriteTransaction(b *testing.B, refresh int) {
	s := open(b, freshPrefix(b))
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).UTC()
	rec := func(tok string, parent *revoke.Record) revoke.Record {
		id := revoke.TokenID(tok)
		r := revoke.Record{ID: id, Check: revoke.Checksum(tok), Kind: revoke.Refresh, ClientID: "app", Subject: "alice", Grant: id, ExpiresAt: exp}
		if parent != nil {
			r.Kind, r.Grant, r.Parent = revoke.Access, parent.Grant, parent.ID
		}
		return r
	}
	parents := make([]revoke.Record, 1000)
	for i := range parents {
		parents[i] = rec(fmt.Sprintf("wt-parent-%d", i), nil)
	}
	if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, parents) }); err != nil {
		b.Fatal(err)
	}
	var begin, get, put, commit time.Duration
	for i := 0; b.Loop(); i++ {
		recs := make([]revoke.Record, 31)
		ids := make([]revoke.ID, 0, 2*len(recs))
		for j := range recs {
			tok := fmt.Sprintf("wt-%d-%d", i, j)
			if j < refresh {
				recs[j] = rec(tok, nil)
				ids = append(ids, recs[j].ID, revoke.TokenID(tok+"-parent")) // as Issue reads: the token, an absent parent
				continue
			}
			p := &parents[(i*31+j)%len(parents)]
			recs[j] = rec(tok, p)
			ids = append(ids, recs[j].ID, p.ID)
		}
		t0 := time.Now()
		var t1, t2, t3 time.Time
		err := s.Update(ctx, func(tx revoke.Tx) error {
			t1 = time.Now()
			if _, err := tx.Get(ctx, ids); err != nil {
				return err
			}
			t2 = time.Now()
			err := tx.Put(ctx, recs)
			t3 = time.Now()
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		begin, get, put, commit = begin+t1.Sub(t0), get+t2.Sub(t1), put+t3.Sub(t2), commit+time.Since(t3)
	}
	n := float64(b.N) * float64(time.Millisecond)
	b.ReportMetric(float64(begin)/n, "begin-ms")
	b.ReportMetric(float64(get)/n, "get-ms")
	b.ReportMetric(float64(put)/n, "put-ms")
	b.ReportMetric(float64(commit)/n, "commit-ms")
}
