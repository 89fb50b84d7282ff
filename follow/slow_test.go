package follow_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sdkauth/revocation/follow"
	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// slowConn reads at most 256 bytes every 10 ms: a follower on a slow link.
type slowConn struct{ net.Conn }

func (c slowConn) Read(p []byte) (int, error) {
	time.Sleep(10 * time.Millisecond)
	return c.Conn.Read(p[:min(len(p), 256)])
}

// smallSendBuffers gives every accepted connection a small send buffer, so
// that the server's writes wait for a slow follower soon.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// A follower on a slow link, behind the revocations streamed to it, does
// not report itself caught up: while a revocation made some time ago has
// not reached it, its lag is at least that long, less the time a
// confirmation takes through the buffers of the link (a few seconds
// here, which Lag does not count).
func TestSlowFollowerLagIsHonest(t *testing.T) {
	rv, err := revoke.New(memory.New())
	if err != nil {
		t.Fatal(err)
	}
	feed, err := httpadapter.NewFeedHandler(rv, httpadapter.WithFeedSecret(secret),
		httpadapter.WithFeedHeartbeat(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(feed)
	srv.Listener = smallSendBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(func() { _ = rv.Close(); srv.Close() })
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		_ = c.(*net.TCPConn).SetReadBuffer(4096)
		return slowConn{c}, nil
	}
	c := follower(t, srv.URL+httpadapter.FeedPath, follow.WithHTTPClient(&http.Client{Transport: tr}))

	// Revocations come one at a time, faster than the follower reads them
	// (but not so many that its stream falls out of the change log).
	for i := range 8000 {
		if _, err := rv.RevokeUntracked(context.Background(), fmt.Sprint("flood-", i), "app", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	revokeNew(t, rv, "probe")
	at := time.Now()
	for !revoked(t, c, "probe") {
		if lag, late := c.Lag(), time.Since(at); lag < late-6*time.Second {
			t.Fatalf("the follower lacks a revocation made %v ago, yet reports a lag of %v (%+v)", late, lag, c.Stats())
		}
		if time.Since(at) > 60*time.Second {
			t.Fatal("the probe never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("the probe arrived after %v", time.Since(at))
}
