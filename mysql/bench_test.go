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
