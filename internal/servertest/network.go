package servertest

import (
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// LatencyProxy forwards TCP connections to a server, delaying every chunk
// of bytes by a fixed delay in each direction, as a server on another host
// would: the bytes keep their order and several chunks may be in flight,
// so the proxy adds latency without limiting throughput.
type LatencyProxy struct {
	ln     net.Listener
	target string
	delay  time.Duration
	wg     sync.WaitGroup
}

// StartLatencyProxy listens on a port of 127.0.0.1 and forwards what
// arrives to target (host:port) with delay added each way, until tb ends.
func StartLatencyProxy(tb testing.TB, target string, delay time.Duration) *LatencyProxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p := &LatencyProxy{ln: ln, target: target, delay: delay}
	p.wg.Go(p.accept)
	tb.Cleanup(func() { _ = ln.Close(); p.wg.Wait() })
	return p
}

// Addr is the address (host:port) the proxy listens on.
func (p *LatencyProxy) Addr() string { return p.ln.Addr().String() }

func (p *LatencyProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

func (p *LatencyProxy) serve(c net.Conn) {
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
func (p *LatencyProxy) pipe(dst, src net.Conn) {
	type chunk struct {
		at   time.Time
		data []byte
	}
	q := make(chan chunk, 1024)
	go func() {
		defer close(q)
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				q <- chunk{time.Now().Add(p.delay), append([]byte(nil), buf[:n]...)}
			}
			if err != nil {
				return
			}
		}
	}()
	for ch := range q {
		sleepUntil(ch.at)
		if _, err := dst.Write(ch.data); err != nil {
			break
		}
	}
	_ = dst.Close()
	_ = src.Close()
	for range q { // let the reader end
	}
}

// sleepUntil returns at t, give or take the kernel's timer slack (50µs):
// a nanosleep of the thread, since the runtime's timers, on this machine,
// wake a goroutine asleep for 0.5 ms up to a millisecond late.
func sleepUntil(t time.Time) {
	for d := time.Until(t); d > 0; d = time.Until(t) {
		ts := syscall.NsecToTimespec(d.Nanoseconds())
		_ = syscall.Nanosleep(&ts, nil)
	}
}

// TurnCounter counts the round trips of the connections it wraps: a write
// to the server after a read from it (or the first write) starts one.
type TurnCounter struct {
	mu    sync.Mutex
	turns int
}

// Count returns the round trips counted so far.
func (c *TurnCounter) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.turns
}

// Wrap returns conn, counting its round trips.
func (c *TurnCounter) Wrap(conn net.Conn) net.Conn { return &countedConn{Conn: conn, c: c} }

type countedConn struct {
	net.Conn
	c       *TurnCounter
	writing bool
}

func (cc *countedConn) Write(b []byte) (int, error) {
	cc.c.mu.Lock()
	if !cc.writing {
		cc.writing = true
		cc.c.turns++
	}
	cc.c.mu.Unlock()
	return cc.Conn.Write(b)
}

func (cc *countedConn) Read(b []byte) (int, error) {
	n, err := cc.Conn.Read(b)
	if n > 0 {
		cc.c.mu.Lock()
		cc.writing = false
		cc.c.mu.Unlock()
	}
	return n, err
}
