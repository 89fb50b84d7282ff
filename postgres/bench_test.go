package postgres_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/store/storebench"
)

// BenchmarkStore runs the common benchmarks of package storebench. The bytes
// written per token are the server's: the WAL it wrote (pg_stat_wal), which
// holds every row and index change, and the full page images after a
// checkpoint.
func BenchmarkStore(b *testing.B) {
	db := admin(b)
	walBytes := func() (int64, error) {
		var n int64
		err := db.Get(&n, `SELECT wal_bytes::bigint FROM pg_stat_wal`)
		return n, err
	}
	storebench.Run(b, func(b *testing.B) revoke.Store {
		s, err := postgres.Open(context.Background(), dsn, postgres.WithTablePrefix(freshPrefix(b)))
		if err != nil {
			b.Fatal(err)
		}
		return s
	}, storebench.WithWriteMeter(walBytes), storebench.WithSettle(func() error {
		_, err := db.Exec(`VACUUM (ANALYZE)`)
		return err
	}))
}

// The environment of a follower process of BenchmarkPropagation.
const (
	propModeEnv = "REVOKE_POSTGRES_BENCH_PROP_MODE" // "feed" or "poll"
	propDirEnv  = "REVOKE_POSTGRES_BENCH_PROP_DIR"
)

const (
	propRevocations = 1000
	propFollowers   = 2
	propGap         = 2 * time.Millisecond // between two revocations
)

// BenchmarkPropagation measures how long a revocation committed by this
// process takes to reach IsRevoked in two other processes: from the moment
// Revoke returned in the writer to the moment IsRevoked reports the token
// in a follower (polled every 50µs), over 1,000 revocations, each follower
// on the change feed ("Feed") or with notifications cut, following by its
// poll of one second alone ("Poll"). Run it with -benchtime=1x: one
// iteration is the 1,000 revocations.
func BenchmarkPropagation(b *testing.B) {
	if mode := os.Getenv(propModeEnv); mode != "" {
		propagationFollower(b, mode)
		return
	}
	b.Run("Feed", func(b *testing.B) { benchPropagation(b, "feed") })
	b.Run("Poll", func(b *testing.B) { benchPropagation(b, "poll") })
}

// propagationFollower is a follower process of BenchmarkPropagation: it
// waits for each revocation in turn and prints when it saw it.
func propagationFollower(t *testing.B, mode string) {
	ctx := context.Background()
	dir := os.Getenv(propDirEnv)
	data, err := os.ReadFile(filepath.Join(dir, "tokens"))
	if err != nil {
		t.Fatal(err)
	}
	toks := strings.Fields(string(data))
	prefix, toks := toks[0], toks[1:]
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	var store revoke.Store = s
	if mode == "poll" {
		// Hide Notify: the Revoker polls only.
		store = pollOnly{s}
	}
	r, err := revoke.New(store)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	time.Sleep(300 * time.Millisecond) // the feed's LISTEN
	fmt.Println("ready")
	seen := make([]int64, len(toks))
	for i, tok := range toks {
		for {
			ok, err := r.IsRevoked(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				break
			}
			time.Sleep(50 * time.Microsecond)
		}
		seen[i] = time.Now().UnixNano()
	}
	w := bufio.NewWriter(os.Stdout)
	for i, ns := range seen {
		fmt.Fprintf(w, "seen %d %d\n", i, ns)
	}
	_ = w.Flush()
}

// pollOnly is a Store that is Shared but does not notify.
type pollOnly struct{ revoke.Store }

// Capabilities declares the Store's capabilities less Notify.
func (p pollOnly) Capabilities() revoke.Capabilities {
	c := p.Store.Capabilities()
	c.Notify = nil
	return c
}

func benchPropagation(b *testing.B, mode string) {
	ctx := context.Background()
	prefix := freshPrefix(b)
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		b.Fatal(err)
	}
	r, err := revoke.New(s)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var lat []time.Duration
	for b.Loop() {
		b.StopTimer()
		toks := make([]string, propRevocations)
		exp := time.Now().Add(time.Hour)
		var wg sync.WaitGroup
		for i := range toks {
			toks[i] = "prop-" + token()
			wg.Go(func() {
				if err := r.Issue(ctx, revoke.Token{Value: toks[i], Kind: revoke.Access, ClientID: "c", ExpiresAt: exp}); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		dir := b.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "tokens"), []byte(prefix+"\n"+strings.Join(toks, "\n")), 0o600); err != nil {
			b.Fatal(err)
		}
		outs := make([]*bufio.Scanner, propFollowers)
		cmds := make([]*exec.Cmd, propFollowers)
		for f := range outs {
			cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^BenchmarkPropagation$", "-test.benchtime=1x", "-test.count=1")
			cmd.Env = append(os.Environ(), propModeEnv+"="+mode, propDirEnv+"="+dir)
			cmd.Stderr = os.Stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			cmds[f], outs[f] = cmd, bufio.NewScanner(out)
			for outs[f].Scan() && outs[f].Text() != "ready" {
			}
		}
		b.StartTimer()
		acked := make([]int64, len(toks))
		for i, tok := range toks {
			if n, err := r.Revoke(ctx, tok, "c"); err != nil || n != 1 {
				b.Fatalf("Revoke = %d, %v", n, err)
			}
			acked[i] = time.Now().UnixNano()
			time.Sleep(propGap)
		}
		b.StopTimer()
		for f, out := range outs {
			n := 0
			for out.Scan() {
				var i int
				var ns int64
				if _, err := fmt.Sscanf(out.Text(), "seen %d %d", &i, &ns); err != nil {
					continue
				}
				lat = append(lat, time.Duration(max(0, ns-acked[i])))
				n++
			}
			if err := cmds[f].Wait(); err != nil || n != len(toks) {
				b.Fatalf("follower %d: %d of %d revocations seen, %v", f, n, len(toks), err)
			}
		}
		b.StartTimer()
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
	b.ReportMetric(float64(len(lat)), "samples")
}
