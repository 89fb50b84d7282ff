package storebench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// runLifecycleBenchmarks measures Rotate (serial and from 32 goroutines,
// each rotating a chain of its own), RevokeSubject of a user with 100
// grants in a store of 60,000 other records, and RevokeClient of a client
// with 100,000 tokens (50,000 grants of a refresh and an access token),
// with the longest single write transaction it ran.
func runLifecycleBenchmarks(b *testing.B, open func(*testing.B) revoke.Store) {
	b.Run("Rotate", func(b *testing.B) { benchRotate(b, open) })
	b.Run("RevokeSubject100Grants", func(b *testing.B) { benchRevokeSubject(b, open) })
	b.Run("RevokeClient100k", func(b *testing.B) { benchRevokeClient(b, open) })
}

func benchRotate(b *testing.B, open func(*testing.B) revoke.Store) {
	ctx := context.Background()
	// chain rotates its own refresh token.
	type chain struct{ cur string }
	newChain := func(b *testing.B, r *revoke.Revoker) *chain {
		c := &chain{cur: benchToken()}
		if err := r.Issue(ctx, revoke.Token{Value: c.cur, Kind: revoke.Refresh, ClientID: "bench", Subject: "user", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
		return c
	}
	rotate := func(b *testing.B, r *revoke.Revoker, c *chain) {
		next := benchToken()
		if err := r.Rotate(ctx, c.cur, revoke.Token{Value: next, Kind: revoke.Refresh, ClientID: "bench", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			b.Error(err)
			return
		}
		c.cur = next
	}
	b.Run("Serial", func(b *testing.B) {
		r := newBenchRevoker(b, open(b))
		c := newChain(b, r)
		start := time.Now()
		for b.Loop() {
			rotate(b, r, c)
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rotations/s")
	})
	b.Run("Parallel32", func(b *testing.B) {
		r := newBenchRevoker(b, open(b))
		b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
		var (
			mu     sync.Mutex
			chains []*chain
		)
		for range 32 * runtime.GOMAXPROCS(0) {
			chains = append(chains, newChain(b, r))
		}
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			mu.Lock()
			c := chains[len(chains)-1]
			chains = chains[:len(chains)-1]
			mu.Unlock()
			for pb.Next() {
				rotate(b, r, c)
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rotations/s")
	})
}

// seedOwner stores grants grants of a refresh and an access token each for
// subject and client straight through the store, in transactions of 5,000
// grants.
func seedOwner(tb testing.TB, s revoke.Store, client, subject string, grants int) {
	tb.Helper()
	ctx := context.Background()
	exp := time.Now().Add(24 * time.Hour).UTC()
	const chunk = 5000
	for start := 0; start < grants; start += chunk {
		err := s.Update(ctx, func(tx revoke.Tx) error {
			n := min(chunk, grants-start)
			recs := make([]revoke.Record, 0, 2*n)
			for range n {
				rt, at := benchToken(), benchToken()
				root := revoke.TokenID(rt)
				recs = append(recs,
					revoke.Record{ID: root, Check: revoke.Checksum(rt), Kind: revoke.Refresh, ClientID: client, Subject: subject, Grant: root, ExpiresAt: exp},
					revoke.Record{ID: revoke.TokenID(at), Check: revoke.Checksum(at), Kind: revoke.Access, ClientID: client, Subject: subject, Parent: root, Grant: root, ExpiresAt: exp})
			}
			return tx.Put(ctx, recs)
		})
		if err != nil {
			tb.Fatalf("seeding: %v", err)
		}
	}
}

func benchRevokeSubject(b *testing.B, open func(*testing.B) revoke.Store) {
	ctx := context.Background()
	s := open(b)
	seed(b, s, 60_000, false) // other users' tokens
	r := newBenchRevoker(b, s)
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		user := fmt.Sprintf("user-%d", i)
		seedOwner(b, s, "bench", user, 100)
		b.StartTimer()
		n, err := r.RevokeSubject(ctx, user)
		if err != nil || n != 200 {
			b.Fatalf("RevokeSubject = (%d, %v), want 200", n, err)
		}
	}
}

func benchRevokeClient(b *testing.B, open func(*testing.B) revoke.Store) {
	ctx := context.Background()
	ts := &timedStore{Store: open(b)}
	r := newBenchRevoker(b, ts)
	i := 0
	var longest time.Duration
	for b.Loop() {
		b.StopTimer()
		i++
		client := fmt.Sprintf("client-%d", i)
		seedOwner(b, ts.Store, client, "", 50_000)
		ts.reset()
		b.StartTimer()
		n, err := r.RevokeClient(ctx, client)
		if err != nil || n != 100_000 {
			b.Fatalf("RevokeClient = (%d, %v), want 100000", n, err)
		}
		longest = max(longest, ts.longest())
	}
	b.ReportMetric(float64(longest.Microseconds())/1000, "longest-tx-ms")
}

// timedStore records the longest Update of a Store.
type timedStore struct {
	revoke.Store
	mu  sync.Mutex
	max time.Duration
}

func (s *timedStore) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	start := time.Now()
	err := s.Store.Update(ctx, fn)
	d := time.Since(start)
	s.mu.Lock()
	s.max = max(s.max, d)
	s.mu.Unlock()
	return err
}

func (s *timedStore) reset() {
	s.mu.Lock()
	s.max = 0
	s.mu.Unlock()
}

func (s *timedStore) longest() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max
}
