package storebench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/sdkauth/revocation/revoke"
)

// Run measures a Store under a Revoker: IsRevoked (hit and miss,
// serial and parallel) beside a floor of one SHA-256 of the token plus one
// Go map lookup, Issue serial and from 32 goroutines, the issuance load of a
// login burst beside the disk's floor (IssueLoad, see benchIssueLoad), Revoke of a grant of
// one refresh and 1,000 access tokens alone (RevokeGrant1001) and while that
// issuance load runs (RevokeGrant1001Loaded), the HTTP endpoint and middleware end
// to end, and New over a store holding 1M
// revoked records (with the index's memory per revoked token). open is
// called for each benchmark and must return a fresh, empty Store; the
// benchmark closes it. opts adjust what is measured (see WithWriteMeter).
func Run(b *testing.B, open func(b *testing.B) revoke.Store, opts ...Option) {
	var o benchOptions
	for _, opt := range opts {
		opt(&o)
	}
	b.Run("IsRevoked", func(b *testing.B) { benchIsRevoked(b, open) })
	b.Run("IsRevokedObserved", func(b *testing.B) {
		benchIsRevoked(b, open, revoke.WithObserver(func(revoke.Event) {}))
	})
	b.Run("Issue", func(b *testing.B) { benchIssue(b, open) })
	b.Run("IssueLoad", func(b *testing.B) { benchIssueLoad(b, open, o) })
	b.Run("RevokeGrant1001", func(b *testing.B) { benchRevokeGrant(b, open) })
	b.Run("RevokeGrant1001Loaded", func(b *testing.B) { benchRevokeGrantLoaded(b, open) })
	b.Run("HTTP", func(b *testing.B) { benchHTTP(b, open) })
	b.Run("New1M", func(b *testing.B) { benchNew(b, open, 1_000_000, o) })
	b.Run("New4M", func(b *testing.B) { scaleGate(b); benchNew(b, open, 4_000_000, o) })
	b.Run("New10M", func(b *testing.B) { scaleGate(b); benchNew(b, open, 10_000_000, o) })
	runLifecycleBenchmarks(b, open)
}

// benchToken returns a token shaped like a typical opaque access token: 32
// random bytes, base64url, 43 characters.
func benchToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// seed stores n access tokens of client "bench" straight through the
// Store, in transactions of 10,000, revoked or live, and returns their raw
// values. The store then holds them as one that has run a while does: a
// store with a write-ahead journal of its own (a Checkpoint method, as
// package bolt's) is checkpointed, so that the measurement that follows
// does not also pay for moving the seed out of the journal.
func seed(tb testing.TB, s revoke.Store, n int, revoked bool) []string {
	tb.Helper()
	ctx := context.Background()
	toks := make([]string, n)
	exp := time.Now().Add(24 * time.Hour).UTC()
	const chunk = 10_000
	for start := 0; start < n; start += chunk {
		end := min(n, start+chunk)
		err := s.Update(ctx, func(tx revoke.Tx) error {
			var seq uint64
			if revoked {
				var err error
				if seq, err = tx.NextSeq(ctx); err != nil {
					return err
				}
			}
			recs := make([]revoke.Record, 0, end-start)
			for i := start; i < end; i++ {
				toks[i] = benchToken()
				id := revoke.TokenID(toks[i])
				recs = append(recs, revoke.Record{ID: id, Check: revoke.Checksum(toks[i]), Kind: revoke.Access,
					ClientID: "bench", Grant: id, ExpiresAt: exp, Seq: seq})
			}
			return tx.Put(ctx, recs)
		})
		if err != nil {
			tb.Fatalf("seeding: %v", err)
		}
	}
	settle(tb, s)
	return toks
}

// settle checkpoints s if it has a journal of its own (see seed).
func settle(tb testing.TB, s revoke.Store) {
	tb.Helper()
	if c, ok := s.(checkpointer); ok {
		if err := c.Checkpoint(context.Background()); err != nil {
			tb.Fatalf("checkpoint: %v", err)
		}
	}
}

// checkpointer is a Store that keeps recent writes in a journal of its own
// until it applies them to its main file (package bolt's).
type checkpointer interface {
	Checkpoint(ctx context.Context) error
}

func newBenchRevoker(b *testing.B, s revoke.Store, opts ...revoke.Option) *revoke.Revoker {
	b.Helper()
	r, err := revoke.New(s, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = r.Close() })
	return r
}

func benchIsRevoked(b *testing.B, open func(*testing.B) revoke.Store, opts ...revoke.Option) {
	const n = 100_000
	s := open(b)
	revoked := seed(b, s, n, true)
	r := newBenchRevoker(b, s, opts...)
	misses := make([]string, n)
	for i := range misses {
		misses[i] = benchToken()
	}
	// The floor: SHA-256 of the token and one Go map lookup.
	floorSet := make(map[revoke.ID]struct{}, n)
	for _, tok := range revoked {
		floorSet[sha256.Sum256([]byte(tok))] = struct{}{}
	}
	ctx := context.Background()

	floor := func(tok string) bool {
		_, ok := floorSet[sha256.Sum256(unsafe.Slice(unsafe.StringData(tok), len(tok)))]
		return ok
	}
	hit := func(tok string) bool {
		got, err := r.IsRevoked(ctx, tok)
		return err == nil && got
	}
	miss := func(tok string) bool {
		got, err := r.IsRevoked(ctx, tok)
		return err == nil && !got
	}
	for _, c := range []struct {
		name string
		toks []string
		ok   func(string) bool
	}{{"Floor", revoked, floor}, {"Hit", revoked, hit}, {"Miss", misses, miss}} {
		b.Run(c.name+"/Serial", func(b *testing.B) { serial(b, c.toks, c.ok) })
		b.Run(c.name+"/Parallel", func(b *testing.B) { parallel(b, c.toks, c.ok) })
	}
}

// serial runs ok over toks in turn and fails the benchmark if ok returns
// false.
func serial(b *testing.B, toks []string, ok func(string) bool) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if !ok(toks[i%len(toks)]) {
			b.Fatal("wrong answer")
		}
	}
}

// parallel runs ok over toks from GOMAXPROCS goroutines, each starting at
// another place, and fails the benchmark if ok returns false.
func parallel(b *testing.B, toks []string, ok func(string) bool) {
	b.ReportAllocs()
	var next atomic.Uint64
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(7919)
		for pb.Next() {
			i++
			if !ok(toks[i%uint64(len(toks))]) {
				b.Error("wrong answer")
				return
			}
		}
	})
}

func benchIssue(b *testing.B, open func(*testing.B) revoke.Store) {
	ctx := context.Background()
	issue := func(b *testing.B, r *revoke.Revoker) {
		err := r.Issue(ctx, revoke.Token{Value: benchToken(), Kind: revoke.Access, ClientID: "bench", ExpiresAt: time.Now().Add(time.Hour)})
		if err != nil {
			b.Error(err)
		}
	}
	b.Run("Serial", func(b *testing.B) {
		r := newBenchRevoker(b, open(b))
		start := time.Now()
		for b.Loop() {
			issue(b, r)
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tokens/s")
	})
	b.Run("Parallel32", func(b *testing.B) {
		r := newBenchRevoker(b, open(b))
		b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				issue(b, r)
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tokens/s")
	})
}

func benchRevokeGrant(b *testing.B, open func(*testing.B) revoke.Store) {
	ctx := context.Background()
	s := open(b)
	r := newBenchRevoker(b, s)
	exp := time.Now().Add(time.Hour).UTC()
	for b.Loop() {
		b.StopTimer()
		refresh := putGrant1001(b, s, exp)
		b.StartTimer()
		n, err := r.Revoke(ctx, refresh, "bench")
		if err != nil || n != 1001 {
			b.Fatalf("Revoke = (%d, %v), want 1001", n, err)
		}
	}
}

// putGrant1001 stores a grant of one refresh token and 1,000 access tokens
// of client "bench" straight through the Store, in one transaction, and
// returns the refresh token.
func putGrant1001(b *testing.B, s revoke.Store, exp time.Time) string {
	b.Helper()
	ctx := context.Background()
	refresh := benchToken()
	root := revoke.TokenID(refresh)
	err := s.Update(ctx, func(tx revoke.Tx) error {
		recs := []revoke.Record{{ID: root, Check: revoke.Checksum(refresh), Kind: revoke.Refresh, ClientID: "bench", Grant: root, ExpiresAt: exp}}
		for range 1000 {
			at := benchToken()
			recs = append(recs, revoke.Record{ID: revoke.TokenID(at), Check: revoke.Checksum(at), Kind: revoke.Access, ClientID: "bench", Parent: root, Grant: root, ExpiresAt: exp})
		}
		return tx.Put(ctx, recs)
	})
	if err != nil {
		b.Fatal(err)
	}
	return refresh
}

// scaleGate skips a benchmark that fills a store with millions of records
// unless REVOKE_BENCH_SCALE is set.
func scaleGate(b *testing.B) {
	if os.Getenv("REVOKE_BENCH_SCALE") == "" {
		b.Skip("set REVOKE_BENCH_SCALE=1 to fill the store with millions of records")
	}
}

// benchNew times revoke.New over n revoked records and reports the index's
// heap per token after a collection (index-B/token). Once more, untimed,
// with the collector set to run at every 10% of heap growth so that dead
// objects do not hide what is held, it reports the most heap New held
// over what the index holds once it returns (peak/final).
func benchNew(b *testing.B, open func(*testing.B) revoke.Store, n int, o benchOptions) {
	s := open(b)
	seed(b, s, n, true)
	if o.settle != nil {
		if err := o.settle(); err != nil {
			b.Fatalf("settling: %v", err)
		}
	}
	var perToken float64
	for b.Loop() {
		b.StopTimer()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		// keepOpen: closing r after each round leaves s open for the next.
		r, err := revoke.New(keepOpen{s}, revoke.WithFollow(revoke.FollowPolicy{Interval: 0}))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		perToken = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(perToken, "index-B/token")
	b.ReportMetric(newPeak(b, s), "peak/final")
	_ = s.Close()
}

// newPeak runs revoke.New over s with the collector at GOGC=10 and returns
// the most heap it saw in use while New ran over the index's heap once New
// returned, both above the heap before.
func newPeak(b *testing.B, s revoke.Store) float64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	watch := watchHeap()
	r, err := revoke.New(keepOpen{s}, revoke.WithFollow(revoke.FollowPolicy{Interval: 0}))
	if err != nil {
		b.Fatal(err)
	}
	peak := watch()
	runtime.GC()
	runtime.ReadMemStats(&after)
	defer func() { _ = r.Close() }()
	return float64(int64(peak)-int64(before.HeapAlloc)) / float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))
}

// watchHeap samples the heap's objects (live, and dead ones not yet freed)
// every millisecond until the function it returns is called, which returns
// the most it saw.
func watchHeap() func() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak.Store(max(peak.Load(), sample[0].Value.Uint64()))
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		return peak.Load()
	}
}

// keepOpen is a Store whose Close leaves the Store it wraps open, for a
// Revoker that must stop without closing the store under the next one.
type keepOpen struct{ revoke.Store }

func (keepOpen) Close() error { return nil }
