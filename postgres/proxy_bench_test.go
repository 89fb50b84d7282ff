package postgres_test

import (
	"context"
	"fmt"
	"net/url"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sdkauth/revocation/internal/servertest"
	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// proxiedDSN returns dsn with its host and port replaced by addr.
func proxiedDSN(tb testing.TB, dsn, addr string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	u.Host = addr
	return u.String()
}

// BenchmarkIssueFar measures durable issuing through replicas whose
// server is 0.5 ms away each way (a latency proxy in front of it; see
// BenchmarkProxyRoundTrip for what it adds): 1 and 4 replicas (Stores with
// pools of their own over the same tables, each with a Revoker), each
// replica with 32 issuers of its own, each issuing a refresh token and 4
// access tokens under it per iteration; then 4 replicas sharing 32 issuers
// (8 each), 1 replica whose Revoker overlaps 4 transactions
// (WithOverlap) and 4 whose Revokers overlap 2; and 1 replica without the proxy (Near), the load whose
// spread over runs BENCHMARKS.md reports. It reports the tokens per second
// of all the replicas together, and the commits per second of each.
func BenchmarkIssueFar(b *testing.B) {
	for _, c := range []struct {
		name                       string
		replicas, issuers, overlap int
		near                       bool
	}{
		{"Replicas1", 1, 32, 1, false},
		{"Replicas4", 4, 128, 1, false},
		{"Replicas4Of32Issuers", 4, 32, 1, false},
		{"Replicas1Overlap4", 1, 32, 4, false},
		{"Replicas4Overlap2", 4, 128, 2, false},
		{"Replicas1Near", 1, 32, 1, true},
	} {
		b.Run(c.name, func(b *testing.B) { benchIssueFar(b, c.replicas, c.issuers, c.overlap, c.near) })
	}
}

func benchIssueFar(b *testing.B, replicas, issuers, overlap int, near bool) {
	far := dsn
	if !near {
		u, err := url.Parse(dsn)
		if err != nil {
			b.Fatal(err)
		}
		proxy := servertest.StartLatencyProxy(b, u.Host, 500*time.Microsecond)
		far = proxiedDSN(b, dsn, proxy.Addr())
	}
	prefix := freshPrefix(b)
	rs := make([]*revoke.Revoker, replicas)
	for i := range rs {
		s, err := postgres.Open(context.Background(), far, postgres.WithTablePrefix(prefix), postgres.WithOverlap(overlap))
		if err != nil {
			b.Fatal(err)
		}
		rs[i] = newRevoker(b, s)
	}
	ctx := context.Background()
	var next atomic.Int64
	b.SetParallelism(issuers / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			r := rs[int(i)%replicas]
			if err := servertest.IssueFamily(ctx, r, fmt.Sprintf("far-%s-%d", prefix, i)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	took := time.Since(start)
	b.ReportMetric(float64(b.N*5)/took.Seconds(), "tokens/s")
	var commits uint64
	for _, r := range rs {
		commits += r.Stats().Commits
	}
	b.ReportMetric(float64(commits)/took.Seconds()/float64(replicas), "commits/s/replica")
}

// BenchmarkProxyRoundTrip measures what the latency proxy of
// BenchmarkIssueFar adds: the round trip of an empty statement through it
// (Far) beside the same without it (Near).
func BenchmarkProxyRoundTrip(b *testing.B) {
	u, err := url.Parse(dsn)
	if err != nil {
		b.Fatal(err)
	}
	proxy := servertest.StartLatencyProxy(b, u.Host, 500*time.Microsecond)
	for _, c := range []struct{ name, dsn string }{{"Near", dsn}, {"Far", proxiedDSN(b, dsn, proxy.Addr())}} {
		b.Run(c.name, func(b *testing.B) {
			conn, err := pgx.Connect(context.Background(), c.dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close(context.Background())
			for b.Loop() {
				if _, err := conn.Exec(context.Background(), ";"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
