package storetest

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
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

// benchIssueLoad measures durable issuance under load: loadIssuers
// goroutines each issue a refresh token and loadAccess access tokens under
// it, on a store pre-filled with loadPrefill tokens. It reports tokens/s;
// beside it, measured in the same run and directory, the disk's floor: an
// ideal group-committed append log of floorRecord-byte records (one write
// and one fsync per group, loadIssuers waiting writers), and the share of
// that floor the store reaches; and the bytes the process wrote to storage
// per token (Linux: /proc/self/io write_bytes; omitted elsewhere).
func benchIssueLoad(b *testing.B, open func(*testing.B) revoke.Store) {
	s := open(b)
	seed(b, s, loadPrefill, false)
	counted := &countingStore{Store: s}
	r := newBenchRevoker(b, counted)
	ctx := context.Background()
	family := func() error {
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
	b.SetParallelism(max(1, loadIssuers/runtime.GOMAXPROCS(0)))
	written := writeBytes()
	b.ResetTimer()
	counted.updates.Store(0)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := family(); err != nil {
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
	if w := writeBytes(); written >= 0 && w >= 0 {
		b.ReportMetric(float64(w-written)/tokens, "disk-B/token")
	}
	floor := diskFloor(b, b.TempDir(), min(max(elapsed, 500*time.Millisecond), 2*time.Second))
	b.ReportMetric(floor, "floor-tokens/s")
	b.ReportMetric(rate/floor, "floor-share")
}

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
	type write struct{ done chan struct{} }
	var (
		mu      sync.Mutex
		pending []write
		wake    = make(chan struct{}, 1)
		stop    = make(chan struct{})
		count   atomic.Int64
		logDone = make(chan struct{})
	)
	go func() { // the log's single writer: one write and one fsync per group
		defer close(logDone)
		buf := make([]byte, 0, loadIssuers*floorRecord)
		for {
			select {
			case <-stop:
				return
			case <-wake:
			}
			mu.Lock()
			group := pending
			pending = nil
			mu.Unlock()
			if len(group) == 0 {
				continue
			}
			buf = buf[:0]
			for range group {
				buf = append(buf, make([]byte, floorRecord)...)
			}
			if _, err := f.Write(buf); err != nil {
				b.Error(err)
			}
			if err := f.Sync(); err != nil {
				b.Error(err)
			}
			for _, w := range group {
				close(w.done)
			}
		}
	}()
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for range loadIssuers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				w := write{done: make(chan struct{})}
				mu.Lock()
				pending = append(pending, w)
				mu.Unlock()
				select {
				case wake <- struct{}{}:
				default:
				}
				<-w.done
				count.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	<-logDone
	return float64(count.Load()) / elapsed.Seconds()
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
