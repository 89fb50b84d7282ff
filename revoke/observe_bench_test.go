package revoke

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkIsRevokedObserver measures what counting checks (on while an
// observer is set) adds to IsRevoked, on one index of 100,000 revoked
// tokens. Counting is switched off and on in alternating blocks of 1,000
// calls, so that both see the same machine: on a machine shared with other
// work, separate runs drift by more than the difference measured. It
// reports ns/op without (off-ns/op) and with (on-ns/op) counting.
func BenchmarkIsRevokedObserver(b *testing.B) {
	r := &Revoker{}
	const n = 100_000
	hits := make([]string, n)
	misses := make([]string, n)
	exp := time.Now().Add(time.Hour)
	for i := range hits {
		hits[i] = "revoked-token-" + strconv.Itoa(i) + "-padding-to-43-bytes-xxxxxx"
		misses[i] = "live-token-" + strconv.Itoa(i) + "-padding-to-43-bytes-xxxxxxxxx"
		r.index.add(Revocation{ID: TokenID(hits[i]), Check: Checksum(hits[i]), ExpiresAt: exp, Seq: 1})
	}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		toks []string
		want bool
	}{{"Hit", hits, true}, {"Miss", misses, false}} {
		b.Run(c.name, func(b *testing.B) {
			const block = 1000
			var spent [2]time.Duration
			calls := 0
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				for v := range 2 {
					r.life.counting = v == 1
					start := time.Now()
					for range block {
						if got, _ := r.IsRevoked(ctx, c.toks[i%n]); got != c.want {
							b.Fatal("wrong answer")
						}
						i++
					}
					spent[v] += time.Since(start)
				}
				calls += block
			}
			b.ReportMetric(float64(spent[0].Nanoseconds())/float64(calls), "off-ns/op")
			b.ReportMetric(float64(spent[1].Nanoseconds())/float64(calls), "on-ns/op")
			b.ReportMetric(float64((spent[1]-spent[0]).Nanoseconds())/float64(calls), "delta-ns/op")
		})
	}
}
