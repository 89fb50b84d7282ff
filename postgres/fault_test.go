package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// proxy is a loopback TCP proxy to the server that a test can cut, as a
// network partition or a server restart would, and heal, without touching
// the server others use.
type proxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	thaw  chan struct{} // non-nil while frozen: closed by unfreeze
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			if p.ln != ln {
				p.mu.Unlock()
				_ = c.Close()
				_ = s.Close()
				continue
			}
			p.conns[c], p.conns[s] = struct{}{}, struct{}{}
			p.mu.Unlock()
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(dst, gated{src, p})
				_ = dst.Close()
				_ = src.Close()
			}
			go pipe(s, c)
			go pipe(c, s)
		}
	}()
}

// gated is a connection of the proxy whose reads wait while the proxy is
// frozen, so that nothing passes either way.
type gated struct {
	net.Conn
	p *proxy
}

func (g gated) Read(b []byte) (int, error) {
	n, err := g.Conn.Read(b)
	g.p.mu.Lock()
	thaw := g.p.thaw
	g.p.mu.Unlock()
	if thaw != nil {
		<-thaw
	}
	return n, err
}

// freeze stops passing data, either way, over the open connections and
// those accepted later, as a server that was paused (or a network path
// that dropped everything) looks from the client: connections stay open,
// nothing is answered. unfreeze passes what was held, and what comes next.
func (p *proxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.thaw == nil {
		p.thaw = make(chan struct{})
	}
}

func (p *proxy) unfreeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.thaw != nil {
		close(p.thaw)
		p.thaw = nil
	}
}

// cut closes the listener and every connection: new connections are
// refused, open ones see their peer gone. A frozen proxy thaws.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.thaw != nil {
		close(p.thaw)
		p.thaw = nil
	}
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

// heal listens again on the same address.
func (p *proxy) heal() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy: listening again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// dsnVia returns the test DSN with its host and port replaced by addr, and
// the server's address.
func dsnVia(t *testing.T, addr string) (string, string) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(cfg.User, cfg.Password), Host: addr, Path: "/" + cfg.Database, RawQuery: "sslmode=disable"}
	if cfg.Password == "" {
		u.User = url.User(cfg.User)
	}
	return u.String(), net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port)))
}

// TestServerCutMidRun cuts replica A off the server while replica B keeps
// writing: A's writes fail with ErrUnavailable and write nothing, its
// IsRevoked keeps answering from memory and, past its max lag, fails
// closed; when the cut heals, A reconnects and catches up, with no
// restart. Then B's feed connection is terminated by the server, and B
// catches up on A's revocations through the reconnected feed alone.
func TestServerCutMidRun(t *testing.T) {
	ctx := context.Background()
	_, server := dsnVia(t, "")
	px := newProxy(t, server)
	viaProxy, _ := dsnVia(t, px.addr)
	prefix := freshPrefix(t)
	sA, err := postgres.Open(ctx, viaProxy, postgres.WithTablePrefix(prefix),
		postgres.WithReconnectBackoff(10*time.Millisecond, 200*time.Millisecond),
		postgres.WithStatementTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	a := newRevoker(t, sA, revoke.WithFollow(revoke.FollowPolicy{Interval: 100 * time.Millisecond, MaxLag: time.Second}))
	app := "replica_" + prefix
	// B's feed waits 300ms before it reconnects, so that A's revocation
	// below is committed while B's feed is down: only the catch-up after
	// the reconnection can bring it.
	sB, err := postgres.Open(ctx, dsn+"&application_name="+app, postgres.WithTablePrefix(prefix),
		postgres.WithReconnectBackoff(300*time.Millisecond, 300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	b := newRevoker(t, sB, revoke.WithFollow(revoke.FollowPolicy{Interval: time.Hour}))

	exp := time.Now().Add(time.Hour)
	toks := make([]string, 6)
	for i := range toks {
		toks[i] = fmt.Sprintf("fault-%s-%d", prefix, i)
		if err := b.Issue(ctx, revoke.Token{Value: toks[i], Kind: revoke.Refresh, ClientID: "c", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Revoke(ctx, toks[0], "c"); err != nil {
		t.Fatal(err)
	}
	waitRevoked(t, a, toks[0])

	px.cut()
	start := time.Now()
	if n, err := a.Revoke(ctx, toks[1], "c"); !errors.Is(err, revoke.ErrUnavailable) {
		t.Fatalf("Revoke while cut off = %d, %v; want an error wrapping ErrUnavailable", n, err)
	}
	err = a.Issue(ctx, revoke.Token{Value: "fault-new-" + prefix, Kind: revoke.Access, ClientID: "c", ExpiresAt: exp})
	if !errors.Is(err, revoke.ErrUnavailable) {
		t.Fatalf("Issue while cut off: %v; want an error wrapping ErrUnavailable", err)
	}
	t.Logf("writes while cut off failed within %v: %v", time.Since(start), err)
	if ok, err := a.IsRevoked(ctx, toks[0]); !ok || err != nil {
		t.Errorf("IsRevoked from memory while cut off = %v, %v; want true, nil", ok, err)
	}
	// Nothing of the failed Revoke reached the server.
	var rec revoke.Record
	err = sB.View(ctx, func(tx revoke.Tx) error {
		var err error
		rec, _, err = getOne(ctx, tx, revoke.TokenID(toks[1]))
		return err
	})
	if err != nil || rec.Revoked() {
		t.Errorf("after the failed Revoke the server has revoked = %v (err %v)", rec.Revoked(), err)
	}
	// B revokes meanwhile; A cannot know, and fails closed past its max
	// lag.
	if _, err := b.Revoke(ctx, toks[2], "c"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := a.IsRevoked(ctx, "never-issued")
		if errors.Is(err, revoke.ErrStale) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("IsRevoked did not fail closed within 10s of the cut (lag %v, err %v)", a.Lag(), err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if lag := a.Lag(); lag < time.Second {
		t.Errorf("Lag while stale = %v", lag)
	}

	px.heal()
	healed := time.Now()
	waitRevoked(t, a, toks[2])
	t.Logf("after the heal, A caught up in %v", time.Since(healed))
	for {
		ok, err := a.IsRevoked(ctx, "never-issued")
		if !ok && err == nil {
			break
		}
		if time.Since(healed) > 10*time.Second {
			t.Fatalf("still stale 10s after the heal: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A writes again through its pool, whose dead connections are
	// replaced; an attempt on one of them fails, never succeeds falsely.
	for {
		n, err := a.Revoke(ctx, toks[1], "c")
		if err == nil {
			if n != 1 {
				t.Fatalf("Revoke after the heal revoked %d", n)
			}
			break
		}
		if !errors.Is(err, revoke.ErrUnavailable) || time.Since(healed) > 10*time.Second {
			t.Fatalf("Revoke after the heal: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitRevoked(t, b, toks[1])

	// The server ends B's feed connection; B, which never polls, gets A's
	// next revocation from the reconnected feed.
	var killed int
	if err := admin(t).Get(&killed, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`, app); err != nil || killed != 1 {
		t.Fatalf("terminating B's feed connection: %d terminated, %v", killed, err)
	}
	if _, err := a.Revoke(ctx, toks[3], "c"); err != nil {
		t.Fatal(err)
	}
	waitRevoked(t, b, toks[3])
}
