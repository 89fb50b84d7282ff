package storebench

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// Shape of the issuance load: every login or refresh issues a refresh token
// and then loadAccess access tokens under it, from loadIssuers goroutines,
// on a store that already holds loadPrefill tokens.
const (
	loadIssuers = 32
	loadAccess  = 4
	loadPrefill = 50_000
	// floorRecord is the size of one record of the ideal log the load is
	// compared with: about what a token's record, with its indexes, is.
	floorRecord = 300
)

// Option adjusts what Run measures.
type Option func(*benchOptions)

type benchOptions struct {
	written func() (int64, error)
	settle  func() error
}

// WithSettle gives Run what brings a store just filled by a benchmark to
// the state of one that has run a while before start-up is timed: a
// server's maintenance, such as PostgreSQL's VACUUM, which marks the rows
// of a bulk insert visible to index-only scans as autovacuum would.
func WithSettle(settle func() error) Option {
	return func(o *benchOptions) { o.settle = settle }
}

// WithWriteMeter gives Run the bytes the store has caused to be
// written to storage so far, for the disk-B/token metric of IssueLoad. A
// backend whose writes happen in this process needs none: the default is
// the process's own write_bytes (Linux's /proc/self/io). A backend whose
// server writes (postgres) passes the server's count, such as PostgreSQL's
// pg_stat_wal.wal_bytes.
func WithWriteMeter(written func() (int64, error)) Option {
	return func(o *benchOptions) { o.written = written }
}

// meter returns the write meter o names, or the process's write_bytes; ok
// is false where neither is known.
func (o benchOptions) meter() func() (int64, bool) {
	if o.written != nil {
		return func() (int64, bool) {
			n, err := o.written()
			return n, err == nil
		}
	}
	return func() (int64, bool) {
		n := writeBytes()
		return n, n >= 0
	}
}

// issueFamily issues, as one login or refresh does, a refresh token and
// loadAccess access tokens under it.
func issueFamily(ctx context.Context, r *revoke.Revoker) error {
	exp := time.Now().Add(time.Hour)
	refresh := benchToken()
	if err := r.Issue(ctx, revoke.Token{Value: refresh, Kind: revoke.Refresh, ClientID: "bench", Subject: "user", ExpiresAt: exp.Add(24 * time.Hour)}); err != nil {
		return err
	}
	for range loadAccess {
		if err := r.Issue(ctx, revoke.Token{Value: benchToken(), Kind: revoke.Access, ClientID: "bench", Parent: refresh, ExpiresAt: exp}); err != nil {
			return err
		}
	}
	return nil
}

// benchIssueLoad measures durable issuance under load: loadIssuers
// goroutines each issue a refresh token and loadAccess access tokens under
// it, on a store pre-filled with loadPrefill tokens. It reports tokens/s;
// beside it, measured in the same run and directory, the disk's floor: an
// ideal group-committed append log of floorRecord-byte records (one write
// and one fsync per group, loadIssuers waiting writers), and the share of
// that floor the store reaches; and the bytes the process wrote to storage
// per token (Linux: /proc/self/io write_bytes, or WithWriteMeter's count;
// omitted where neither is known).
func benchIssueLoad(b *testing.B, open func(*testing.B) revoke.Store, o benchOptions) {
	s := open(b)
	seed(b, s, loadPrefill, false)
	counted := &countingStore{Store: s}
	r := newBenchRevoker(b, counted)
	ctx := context.Background()
	meter := o.meter()
	b.SetParallelism(max(1, loadIssuers/runtime.GOMAXPROCS(0)))
	written, wok := meter()
	b.ResetTimer()
	counted.updates.Store(0)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := issueFamily(ctx, r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	tokens := float64(b.N * (1 + loadAccess))
	rate := tokens / elapsed.Seconds()
	b.ReportMetric(rate, "tokens/s")
	if n := counted.updates.Load(); n > 0 {
		b.ReportMetric(tokens/float64(n), "tokens/commit")
	}
	if w, ok := meter(); wok && ok {
		b.ReportMetric(float64(w-written)/tokens, "disk-B/token")
	}
	floor := diskFloor(b, b.TempDir(), min(max(elapsed, 500*time.Millisecond), 2*time.Second))
	b.ReportMetric(floor, "floor-tokens/s")
	b.ReportMetric(rate/floor, "floor-share")
}

// benchRevokeGrantLoaded measures Revoke of a grant of one refresh and
// 1,000 access tokens while loadIssuers goroutines keep issuing as in
// IssueLoad: the cascade shares the group committer, and the store, with a
// login burst. The grants are stored before the load starts, and one is
// revoked every revokeGap, so that what is measured is a cascade amid the
// burst rather than a stream of cascades. Besides the mean (ns/op) it
// reports the median and the slowest revocation (p50-ms, max-ms).
func benchRevokeGrantLoaded(b *testing.B, open func(*testing.B) revoke.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	s := open(b)
	seed(b, s, loadPrefill, false)
	exp := time.Now().Add(time.Hour).UTC()
	grants := make([]string, b.N)
	for i := range grants {
		grants[i] = putGrant1001(b, s, exp)
	}
	settle(b, s)
	r := newBenchRevoker(b, s)
	var (
		wg     sync.WaitGroup
		failed atomic.Value
	)
	for range loadIssuers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if err := issueFamily(ctx, r); err != nil && ctx.Err() == nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	defer func() {
		cancel()
		wg.Wait()
		if err, ok := failed.Load().(error); ok {
			b.Errorf("issuer: %v", err)
		}
	}()
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for _, refresh := range grants {
		b.StopTimer()
		time.Sleep(revokeGap)
		b.StartTimer()
		start := time.Now()
		n, err := r.Revoke(context.Background(), refresh, "bench")
		took = append(took, time.Since(start))
		if err != nil || n != 1001 {
			b.Fatalf("Revoke = (%d, %v), want 1001", n, err)
		}
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2])/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(took[len(took)-1])/float64(time.Millisecond), "max-ms")
}

// revokeGap is the time between two revocations of RevokeGrant1001Loaded:
// the load runs alone in it.
const revokeGap = 100 * time.Millisecond

// countingStore counts a Store's Update transactions.
type countingStore struct {
	revoke.Store
	updates atomic.Int64
}

func (s *countingStore) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	s.updates.Add(1)
	return s.Store.Update(ctx, fn)
}

// diskFloor runs the ideal log for d in dir and returns its records/s.
func diskFloor(b *testing.B, dir string, d time.Duration) float64 {
	f, err := os.Create(filepath.Join(dir, "floor.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	l := &floorLog{f: f, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go l.run(b)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	var count atomic.Int64
	start := time.Now()
	for range loadIssuers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				l.write()
				count.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(l.stop)
	<-l.done
	return float64(count.Load()) / elapsed.Seconds()
}

// floorLog is the ideal log of diskFloor: its writers queue records, and
// one goroutine writes each group queued meanwhile with one write and one
// fsync.
type floorLog struct {
	f       *os.File
	mu      sync.Mutex
	pending []chan struct{} // closed when the record is on disk
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{} // closed when run returns
}

// write queues a record and waits until it is on disk.
func (l *floorLog) write() {
	done := make(chan struct{})
	l.mu.Lock()
	l.pending = append(l.pending, done)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	<-done
}

// run is the log's single writer, until stop closes.
func (l *floorLog) run(b *testing.B) {
	defer close(l.done)
	buf := make([]byte, 0, loadIssuers*floorRecord)
	for {
		select {
		case <-l.stop:
			return
		case <-l.wake:
		}
		l.mu.Lock()
		group := l.pending
		l.pending = nil
		l.mu.Unlock()
		if len(group) == 0 {
			continue
		}
		buf = buf[:0]
		for range group {
			buf = append(buf, make([]byte, floorRecord)...)
		}
		if _, err := l.f.Write(buf); err != nil {
			b.Error(err)
		}
		if err := l.f.Sync(); err != nil {
			b.Error(err)
		}
		for _, done := range group {
			close(done)
		}
	}
}

// writeBytes returns the bytes this process has caused to be written to
// storage (Linux's /proc/self/io write_bytes), or -1 where that is not
// known.
func writeBytes() int64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("write_bytes: ")); ok {
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}
