package httpadapter_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/httpadapter"
)

// TestFeedStreamsAgreeThroughBursts: a stream read as the revocations come
// and streams that read nothing (small socket buffers: their writes stall)
// while 10,000 revocations are made, in concurrent bursts so that the feed
// sends many at once, and far more than a stalled stream may fall behind
// the others before it reads the change log on its own: each gets every
// revocation, once, at consecutive positions from where it started.
func TestFeedStreamsAgreeThroughBursts(t *testing.T) {
	rv := newFeedRevoker(t)
	h, err := httpadapter.NewFeedHandler(rv, httpadapter.WithFeedSecret(feedSecret),
		httpadapter.WithFeedWriteTimeout(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(func() { _ = rv.Close(); srv.Close() })

	const streams, writers, each = 3, 4, 2500
	ws := make([]*wireReader, streams)
	conns := make([]*net.TCPConn, streams)
	starts := make([]uint64, streams)
	for i := range ws {
		var r *bufio.Reader
		conns[i], r = slowStream(t, srv.Listener.Addr().String())
		ws[i] = &wireReader{t: t, r: r}
		ws[i].hello()
		starts[i] = ws[i].until(wireEntries{}, nil)
	}
	before := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, err := rv.RevokeUntracked(t.Context(), fmt.Sprint("burst-", w, "-", i), "app", time.Now().Add(time.Hour)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	got := make([]wireEntries, streams)
	read := func(i int) {
		_ = conns[i].SetReadBuffer(1 << 20) // read at full speed now
		got[i] = wireEntries{}
		next := starts[i] + 1
		for pos := starts[i]; pos < writers*each; {
			pos = ws[i].until(got[i], &next)
		}
	}
	read(0) // as the revocations come
	wg.Wait()
	after := time.Now().Add(time.Hour)
	for i := 1; i < streams; i++ {
		read(i)
	}
	for i := range got {
		if len(got[i]) != writers*each {
			t.Errorf("stream %d: %d revocations, want %d", i, len(got[i]), writers*each)
		}
		for w := range writers {
			for _, k := range []int{0, each / 2, each - 1} {
				tok := fmt.Sprint("burst-", w, "-", k)
				if exp, ok := got[i][fp(tok)]; !ok || !expiryWithin(exp, before, after, 0) {
					t.Errorf("stream %d: %s present %v, expiry %v; want present, expiring within [%v, %v]",
						i, tok, ok, time.Unix(int64(exp), 0), before, after)
				}
			}
		}
	}
}

// slowStream opens a feed stream at addr over a connection with a small
// receive buffer, and returns the connection and the stream's body.
func slowStream(t *testing.T, addr string) (*net.TCPConn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	tc := conn.(*net.TCPConn)
	_ = tc.SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", httpadapter.FeedPath, feedSecret)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("feed response: %v, %v", resp, err)
	}
	return tc, bufio.NewReader(resp.Body)
}
