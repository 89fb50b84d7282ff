package follow_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/follow"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// BenchmarkPropagation measures, for each of 100 followers over loopback
// HTTP, the time from Revoke returning on the authorization server to
// IsRevoked answering true on the follower. One goroutine polls the
// followers in turn, so a figure includes up to one round of polls (100
// IsRevoked calls, a few microseconds).
func BenchmarkPropagation(b *testing.B) {
	const followers = 100
	a := newAuthServer(b, nil, nil)
	cs := make([]*follow.Checker, followers)
	for i := range cs {
		cs[i] = follower(b, a.url)
	}
	ctx := context.Background()
	var lat []time.Duration
	seen := make([]bool, followers)
	b.ResetTimer()
	for i := range b.N {
		tok := fmt.Sprint("prop-", i)
		if err := a.rv.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Access, ClientID: "app", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		if _, err := a.rv.Revoke(ctx, tok, "app"); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		clear(seen)
		for left := followers; left > 0; {
			for j, c := range cs {
				if !seen[j] {
					if ok, _ := c.IsRevoked(ctx, tok); ok {
						seen[j] = true
						left--
						lat = append(lat, time.Since(start))
					}
				}
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
}

// countingBody counts the bytes read from a response body.
type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countingTransport struct{ n atomic.Int64 }

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = countingBody{resp.Body, &t.n}
	}
	return resp, err
}

// BenchmarkNewFollower1M measures a new follower of a server holding a
// million revocations: the time until New returns (the snapshot loaded) and
// the bytes per revocation on the wire.
func BenchmarkNewFollower1M(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	s := memory.New()
	exp := time.Now().Add(time.Hour).UTC()
	for lo := 0; lo < n; lo += 10_000 {
		err := s.Update(ctx, func(tx revoke.Tx) error {
			for i := lo; i < lo+10_000; i++ {
				tok := fmt.Sprint("bulk-", i)
				id := revoke.TokenID(tok)
				if err := tx.Put(ctx, revoke.Record{ID: id, Check: revoke.Checksum(tok), Kind: revoke.Access,
					ClientID: "app", Grant: id, ExpiresAt: exp, Seq: uint64(i + 1)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	a := newAuthServer(b, s, nil)
	var total time.Duration
	var bytes int64
	b.ResetTimer()
	for range b.N {
		tr := &countingTransport{}
		start := time.Now()
		c, err := follow.New(ctx, a.url, follow.WithBearer(secret), follow.WithHTTPClient(&http.Client{Transport: tr}))
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		if c.Stats().Entries != n {
			b.Fatalf("%d entries", c.Stats().Entries)
		}
		bytes += tr.n.Load()
		c.Close()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-ready")
	b.ReportMetric(float64(bytes)/float64(b.N)/n, "wire-bytes/revocation")
}

// BenchmarkIsRevoked compares IsRevoked on a follower with the Revoker's
// own, for a revoked token (hit) and a live one (miss), over an index of
// 100,000 revocations.
func BenchmarkIsRevoked(b *testing.B) {
	a := newAuthServer(b, nil, nil)
	for i := range 100_000 {
		if _, err := a.rv.RevokeUntracked(context.Background(), fmt.Sprint("tok-", i), "app", time.Now().Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	c := follower(b, a.url)
	ctx := context.Background()
	for _, who := range []struct {
		name string
		c    interface {
			IsRevoked(context.Context, string) (bool, error)
		}
	}{{"Checker", c}, {"Revoker", a.rv}} {
		for _, tc := range []struct{ name, tok string }{{"hit", "tok-4242"}, {"miss", "live-token-4242"}} {
			b.Run(who.name+"/"+tc.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					_, _ = who.c.IsRevoked(ctx, tc.tok)
				}
			})
		}
	}
}
