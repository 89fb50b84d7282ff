package mysql_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/sdkauth/revocation/internal/servertest"
	"github.com/sdkauth/revocation/mysql"
)

// BenchmarkIssueFar measures durable issuing through a server 0.5 ms away
// each way (a latency proxy in front of it), as a database on another host
// is: one Store opened with Open, and 1 or 32 issuers, each issuing a
// refresh token and 4 access tokens under it per iteration. What it
// measures is the round trips of a write transaction (see
// TestWriteRoundTrips). It reports tokens per second.
func BenchmarkIssueFar(b *testing.B) {
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Addr = servertest.StartLatencyProxy(b, cfg.Addr, 500*time.Microsecond).Addr()
	for _, issuers := range []int{1, 32} {
		b.Run(fmt.Sprintf("Issuers%d", issuers), func(b *testing.B) {
			s, err := mysql.Open(context.Background(), cfg.FormatDSN(), mysql.WithTablePrefix(freshPrefix(b)))
			if err != nil {
				b.Fatal(err)
			}
			r := newRevoker(b, s)
			var next atomic.Int64
			login := func() {
				if err := servertest.IssueFamily(context.Background(), r, fmt.Sprintf("far-%d", next.Add(1))); err != nil {
					b.Error(err)
				}
			}
			start := time.Now()
			if issuers == 1 {
				for b.Loop() {
					login()
				}
			} else {
				b.SetParallelism(issuers / runtime.GOMAXPROCS(0))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						login()
					}
				})
			}
			b.ReportMetric(float64(b.N*5)/time.Since(start).Seconds(), "tokens/s")
		})
	}
}
