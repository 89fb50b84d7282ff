package follow_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/follow"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// benchStore opens a store of the kind a benchmark names: memory, bolt (a
// file in a temporary directory), or postgres (REVOKE_POSTGRES_DSN, tables
// of a fresh prefix dropped at the end; the benchmark is skipped without
// the DSN). open opens one more Store over the same data, for a second
// replica (postgres only).
func benchStore(b *testing.B, kind string) (s revoke.Store, open func() revoke.Store) {
	b.Helper()
	ctx := context.Background()
	switch kind {
	case "memory":
		return memory.New(), nil
	case "bolt":
		s, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		return s, nil
	case "postgres":
		dsn := os.Getenv("REVOKE_POSTGRES_DSN")
		if dsn == "" {
			b.Skip("REVOKE_POSTGRES_DSN is not set")
		}
		prefix := "fb" + strings.ToLower(rand.Text()[:10]) + "_"
		b.Cleanup(func() { dropBenchPrefix(b, dsn, prefix) })
		open = func() revoke.Store {
			s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
			if err != nil {
				b.Fatal(err)
			}
			return s
		}
		return open(), open
	}
	b.Fatalf("unknown store %q", kind)
	return nil, nil
}

// BenchmarkPropagation measures, for each of 100 followers over loopback
// HTTP, the time from Revoke returning to IsRevoked answering true on the
// follower, with the authorization server over each store. In
// postgres-other-replica, the followers follow replica A's feed and the
// revocations are made on replica B, another Revoker over the same
// database: they reach A through the store's notifications, then the
// followers through A's feed. One goroutine polls the followers in turn,
// so a figure includes up to one round of polls (100 IsRevoked calls, a few
// microseconds).
func BenchmarkPropagation(b *testing.B) {
	for _, kind := range []string{"memory", "bolt", "postgres", "postgres-other-replica"} {
		b.Run(kind, func(b *testing.B) {
			s, open := benchStore(b, strings.TrimSuffix(kind, "-other-replica"))
			a := newAuthServer(b, s, nil)
			writer := a.rv
			if kind == "postgres-other-replica" {
				rv, err := revoke.New(open())
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = rv.Close() })
				writer = rv
			}
			propagation(b, a, writer)
		})
	}
}

// propagation runs BenchmarkPropagation's loop: b.N revocations on writer,
// each awaited on 100 followers of a's feed.
func propagation(b *testing.B, a *authServer, writer *revoke.Revoker) {
	const followers = 100
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
		if err := writer.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Access, ClientID: "app", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		if _, err := writer.Revoke(ctx, tok, "app"); err != nil {
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
			if time.Since(start) > time.Minute {
				b.Fatalf("revocation %d: %d followers still without it after a minute", i, left)
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
}

// BenchmarkRevokeWithFollowers measures Revoke on the authorization server
// with 0 and with 100 followers attached to its feed (in the same process,
// on the same cores). The tokens are issued before the timer starts; each
// op is one Revoke of an access token. In "paced", each Revoke starts once
// every follower holds the previous one (the wait is not timed), so the
// followers are idle when it runs: what attaching them adds to a
// revocation. In "back-to-back", the revocations follow each other at
// once, and the streaming of each to the followers competes with the next
// for the cores.
func BenchmarkRevokeWithFollowers(b *testing.B) {
	for _, kind := range []string{"memory", "bolt"} {
		for _, mode := range []string{"paced", "back-to-back"} {
			for _, n := range []int{0, 100} {
				b.Run(fmt.Sprintf("%s/%s/followers=%d", kind, mode, n), func(b *testing.B) {
					revokeWithFollowers(b, kind, n, mode == "paced")
				})
			}
		}
	}
}

var settle = 2 * time.Millisecond

func revokeWithFollowers(b *testing.B, kind string, followers int, paced bool) {
	s, _ := benchStore(b, kind)
	a := newAuthServer(b, s, nil)
	cs := make([]*follow.Checker, followers)
	for i := range cs {
		cs[i] = follower(b, a.url)
	}
	ctx := context.Background()
	for i := range b.N {
		if err := a.rv.Issue(ctx, revoke.Token{Value: fmt.Sprint("cost-", i), Kind: revoke.Access, ClientID: "app",
			ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		if paced && i > 0 {
			b.StopTimer()
			_, head := a.rv.ChangeRange()
			for _, c := range cs {
				for c.Stats().Position < head {
					time.Sleep(20 * time.Microsecond)
				}
			}
			time.Sleep(settle) // the streams' sync frames after the entries
			b.StartTimer()
		}
		if _, err := a.rv.Revoke(ctx, fmt.Sprint("cost-", i), "app"); err != nil {
			b.Fatal(err)
		}
	}
}

// dropBenchPrefix drops the tables whose names start with prefix.
func dropBenchPrefix(b *testing.B, dsn, prefix string) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Error(err)
		return
	}
	defer db.Close()
	rows, err := db.Query(`SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE starts_with(tablename, $1)`, prefix)
	if err != nil {
		b.Error(err)
		return
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			b.Error(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	for _, tb := range tables {
		if _, err := db.Exec(`DROP TABLE IF EXISTS ` + tb); err != nil {
			b.Error(err)
		}
	}
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
// million revocations: the time until New returns (the snapshot loaded),
// the bytes per revocation on the wire, and the heap the follower keeps per
// revocation, beside the heap the server's Revoker keeps for the same
// revocations (measured when it starts over the store, with -benchtime=1x
// only: see below):
//
//	go test -run '^$' -bench NewFollower1M -benchtime=1x -count 3 ./follow/
func BenchmarkNewFollower1M(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	s := memory.New()
	exp := time.Now().Add(time.Hour).UTC()
	for lo := 0; lo < n; lo += 10_000 {
		err := s.Update(ctx, func(tx revoke.Tx) error {
			recs := make([]revoke.Record, 0, 10_000)
			for i := lo; i < lo+10_000; i++ {
				tok := fmt.Sprint("bulk-", i)
				id := revoke.TokenID(tok)
				recs = append(recs, revoke.Record{ID: id, Check: revoke.Checksum(tok), Kind: revoke.Access,
					ClientID: "app", Grant: id, ExpiresAt: exp, Seq: uint64(i + 1)})
			}
			return tx.Put(ctx, recs)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	before := heapInUse()
	a := newAuthServer(b, s, nil)
	revokerHeap := heapInUse() - before
	var total time.Duration
	var bytes, followerHeap int64
	b.ResetTimer()
	for range b.N {
		tr := &countingTransport{}
		before := heapInUse()
		start := time.Now()
		c, err := follow.New(ctx, a.url, follow.WithBearer(secret), follow.WithHTTPClient(&http.Client{Transport: tr}))
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		followerHeap += heapInUse() - before
		if c.Stats().Entries != n {
			b.Fatalf("%d entries", c.Stats().Entries)
		}
		bytes += tr.n.Load()
		c.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-ready")
	b.ReportMetric(float64(bytes)/float64(b.N)/n, "wire-bytes/revocation")
	b.ReportMetric(float64(followerHeap)/float64(b.N)/n, "follower-heap-B/revocation")
	if b.N == 1 {
		// Only in the first call of the function in a process: in a later
		// one, the memory of the call before is still being released while
		// the Revoker starts, and the difference is off by as much.
		// -benchtime=1x makes every run a first call.
		b.ReportMetric(float64(revokerHeap)/n, "revoker-heap-B/revocation")
	}
}

// heapInUse returns the bytes of live heap after a garbage collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
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
