package postgres_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// latencyProxy forwards TCP connections to target, delaying every chunk
// of bytes by delay in each direction, as a server on another host would:
// the bytes keep their order and several chunks may be in flight, so the
// proxy adds latency without limiting throughput.
type latencyProxy struct {
	ln     net.Listener
	target string
	delay  time.Duration
	wg     sync.WaitGroup
}

func startLatencyProxy(tb testing.TB, target string, delay time.Duration) *latencyProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &latencyProxy{ln: ln, target: target, delay: delay}
	p.wg.Go(p.accept)
	tb.Cleanup(func() { _ = ln.Close(); p.wg.Wait() })
	return p
}

func (p *latencyProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

func (p *latencyProxy) serve(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	var done sync.WaitGroup
	done.Go(func() { p.pipe(s, c) })
	done.Go(func() { p.pipe(c, s) })
	done.Wait()
}

// pipe copies src to dst, each chunk delivered delay after it was read.
func (p *latencyProxy) pipe(dst, src net.Conn) {
	type chunk struct {
		at   time.Time
		data []byte
	}
	q := make(chan chunk, 1024)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				q <- chunk{time.Now().Add(p.delay), buf[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	for ch := range q {
		time.Sleep(time.Until(ch.at))
		if _, err := dst.Write(ch.data); err != nil {
			break
		}
	}
	_ = dst.Close()
	_ = src.Close()
	for range q { // let the reader end
	}
}

// proxiedDSN returns dsn with its host and port replaced by addr.
func proxiedDSN(tb testing.TB, dsn, addr string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	u.Host = addr
	return u.String()
}

// BenchmarkIssueFar measures durable issuing through replicas whose
// server is 0.5 ms away each way (a latency proxy in front of it): 1 and 4
// replicas (Stores with pools of their own over the same tables, each with
// a Revoker), 32 issuers in all, each issuing a refresh token and 4 access
// tokens under it per iteration. It reports the tokens per second of all
// the replicas together.
func BenchmarkIssueFar(b *testing.B) {
	for _, replicas := range []int{1, 4} {
		b.Run(fmt.Sprintf("Replicas%d", replicas), func(b *testing.B) { benchIssueFar(b, replicas) })
	}
}

func benchIssueFar(b *testing.B, replicas int) {
	u, err := url.Parse(dsn)
	if err != nil {
		b.Fatal(err)
	}
	proxy := startLatencyProxy(b, u.Host, 500*time.Microsecond)
	far := proxiedDSN(b, dsn, proxy.ln.Addr().String())
	prefix := freshPrefix(b)
	rs := make([]*revoke.Revoker, replicas)
	for i := range rs {
		s, err := postgres.Open(context.Background(), far, postgres.WithTablePrefix(prefix))
		if err != nil {
			b.Fatal(err)
		}
		rs[i] = newRevoker(b, s)
	}
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	var next atomic.Int64
	b.SetParallelism(16) // 32 issuers on this machine's 2 CPUs
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			r := rs[int(i)%replicas]
			rt := fmt.Sprintf("far-%s-%d", prefix, i)
			if err := r.Issue(ctx, revoke.Token{Value: rt, Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp}); err != nil {
				b.Error(err)
				return
			}
			for a := range 4 {
				at := fmt.Sprintf("%s-a%d", rt, a)
				if err := r.Issue(ctx, revoke.Token{Value: at, Kind: revoke.Access, ClientID: "app", Parent: rt, ExpiresAt: exp}); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
	b.ReportMetric(float64(b.N*5)/time.Since(start).Seconds(), "tokens/s")
}
