package revoke_test

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/sdkauth/revocation/revoke"
)

// scaleSample is how many tokens of each kind the lookups cycle through:
// spread over the whole index, so that they miss the CPU's caches as a
// server's checks do.
const scaleSample = 1 << 16

// scaleID is the ID of the i-th bulk entry: the SHA-256 of a counter, so
// that building 10 million entries needs no token strings.
func scaleID(i uint64) revoke.ID {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], i)
	return sha256.Sum256(b[:])
}

// heapLive returns the live heap after a collection.
func heapLive() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkIndexScale holds 1, 4 and 10 million revocations in an Index and
// reports its bytes per entry (live heap after a collection), how fast it
// was filled one Add at a time, and Contains for revoked tokens (Hit) and
// others (Miss), serial and parallel, beside the floor at the same size:
// one SHA-256 of the token and one lookup in a Go map of the IDs.
//
//	go test -run '^$' -bench IndexScale -benchtime 2000000x ./revoke
func BenchmarkIndexScale(b *testing.B) {
	for _, n := range []int{1_000_000, 4_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("%dM", n/1_000_000), func(b *testing.B) { benchIndexScale(b, n) })
	}
}

func benchIndexScale(b *testing.B, n int) {
	exp := time.Now().Add(30 * 24 * time.Hour)
	hits, misses := make([]string, scaleSample), make([]string, scaleSample)
	for i := range hits {
		hits[i], misses[i] = fmt.Sprint("hit-", i), fmt.Sprint("miss-", i)
	}
	before := heapLive()
	x := revoke.NewIndex()
	start := time.Now()
	stride := n / scaleSample
	for i := range n {
		id := scaleID(uint64(i))
		if i%stride == 0 && i/stride < scaleSample {
			id = revoke.TokenID(hits[i/stride])
		}
		x.Add(revoke.Revocation{ID: id, ExpiresAt: exp})
	}
	fill := time.Since(start)
	perEntry := float64(heapLive()-before) / float64(x.Len())
	floor := make(map[revoke.ID]struct{}, n)
	for i := range n {
		floor[scaleID(uint64(i))] = struct{}{}
	}
	for _, h := range hits {
		floor[revoke.TokenID(h)] = struct{}{}
	}
	floorOK := func(tok string) bool {
		_, ok := floor[sha256.Sum256(unsafe.Slice(unsafe.StringData(tok), len(tok)))]
		return ok
	}
	b.Logf("%d entries: %.2f bytes each; filled by Add in %v (%.0f adds/s)", x.Len(), perEntry, fill.Round(time.Millisecond), float64(n)/fill.Seconds())
	for _, c := range []struct {
		name string
		toks []string
		ok   func(string) bool
	}{
		{"Floor", hits, floorOK},
		{"Hit", hits, x.Contains},
		{"Miss", misses, func(tok string) bool { return !x.Contains(tok) }},
	} {
		b.Run(c.name+"/Serial", func(b *testing.B) {
			b.ReportAllocs()
			b.ReportMetric(perEntry, "B/entry")
			for i := 0; b.Loop(); i++ {
				if !c.ok(c.toks[i%len(c.toks)]) {
					b.Fatal("wrong answer")
				}
			}
		})
		b.Run(c.name+"/Parallel", func(b *testing.B) {
			b.ReportAllocs()
			var next atomic.Uint64
			b.RunParallel(func(pb *testing.PB) {
				i := next.Add(7919)
				for pb.Next() {
					i++
					if !c.ok(c.toks[i%uint64(len(c.toks))]) {
						b.Error("wrong answer")
						return
					}
				}
			})
		})
	}
	runtime.KeepAlive(floor)
}

// BenchmarkIndexAppend adds revocations to an Index holding a million from
// 32 goroutines at once, as a group commit and a feed do, and reports the
// adds per second.
//
//	go test -run '^$' -bench IndexAppend ./revoke
func BenchmarkIndexAppend(b *testing.B) {
	x := revoke.NewIndex()
	exp := time.Now().Add(24 * time.Hour)
	for i := range 1_000_000 {
		x.Add(revoke.Revocation{ID: scaleID(uint64(i)), ExpiresAt: exp})
	}
	var next atomic.Uint64
	next.Store(1_000_000)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := b.N/32 + 1
	for range 32 {
		wg.Go(func() {
			for range per {
				x.Add(revoke.Revocation{ID: scaleID(next.Add(1)), ExpiresAt: exp})
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(per*32)/time.Since(start).Seconds(), "adds/s")
}

// TestIndexSawtooth revokes tokens of 30-day lifetimes at a steady rate over
// 120 simulated days, sweeping every simulated hour, and checks that the
// index's memory follows a sawtooth that stays within 1.5 times the memory
// of the unexpired entries, instead of growing with every revocation ever
// made. go test -run IndexSawtooth -v ./revoke prints the curve.
func TestIndexSawtooth(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an index of 360,000 entries")
	}
	x := revoke.NewIndex()
	now := time.Now()
	perHour := atScale(500) // 360,000 unexpired at once (44,640 under -race)
	base := heapLive()
	var peak, low float64
	id := uint64(0)
	for hour := range 120 * 24 {
		for range perHour {
			id++
			x.Add(revoke.Revocation{ID: scaleID(id), ExpiresAt: now.Add(30 * 24 * time.Hour)})
		}
		now = now.Add(time.Hour)
		x.Sweep(now)
		if hour%(24*5) != 0 || hour < 60*24 {
			continue
		}
		mb := float64(heapLive()-base) / 1e6
		unexpired := 30 * 24 * perHour
		perLive := mb * 1e6 / float64(unexpired)
		t.Logf("day %3d: %7d entries held (%d unexpired), %.1f MB, %.1f bytes per unexpired entry", hour/24, x.Len(), unexpired, mb, perLive)
		peak = max(peak, perLive)
		if low == 0 || perLive < low {
			low = perLive
		}
	}
	if x.Len() > 30*24*perHour*3/2 {
		t.Errorf("%d entries held, over 1.5 times the %d unexpired: expired entries are not dropped", x.Len(), 30*24*perHour)
	}
	t.Logf("bytes per unexpired entry between %.1f and %.1f", low, peak)
}

// atScale returns n, or an eighth of it in a binary built with -race,
// which runs the index's loops some forty times slower: the tests that use
// it check the same properties at either size, their concurrent parts
// under the race detector at the smaller one, and CI runs them at full
// size without it too (.ci/run, "index tests at full size").
func atScale(n int) int {
	if raceEnabled {
		return n / 8
	}
	return n
}
