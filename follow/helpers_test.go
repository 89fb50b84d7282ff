package follow_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/follow"
	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

const secret = "test-feed-secret-0123456789"

// authServer is an authorization server with a feed, over loopback.
type authServer struct {
	rv   *revoke.Revoker
	srv  *httptest.Server
	url  string
	down atomic.Bool // the feed answers 503 while set
}

func newAuthServer(t testing.TB, s revoke.Store, ropts []revoke.Option, fopts ...httpadapter.FeedOption) *authServer {
	t.Helper()
	if s == nil {
		s = memory.New()
	}
	rv, err := revoke.New(s, ropts...)
	if err != nil {
		t.Fatal(err)
	}
	a := &authServer{rv: rv}
	feed, err := httpadapter.NewFeedHandler(rv, append([]httpadapter.FeedOption{
		httpadapter.WithFeedSecret(secret), httpadapter.WithFeedHeartbeat(50 * time.Millisecond)}, fopts...)...)
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		feed.ServeHTTP(w, r)
	}))
	a.url = a.srv.URL + httpadapter.FeedPath
	t.Cleanup(a.close)
	return a
}

// close ends the streams (closing the Revoker) and the server.
func (a *authServer) close() {
	_ = a.rv.Close()
	a.srv.Close()
}

// follower returns a Checker of a's feed, closed at the end of the test.
func follower(t testing.TB, url string, opts ...follow.Option) *follow.Checker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := follow.New(ctx, url, append([]follow.Option{follow.WithBearer(secret),
		follow.WithBackoff(5*time.Millisecond, 50*time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// revokeNew issues tok and revokes it on rv.
func revokeNew(t testing.TB, rv *revoke.Revoker, tok string) {
	t.Helper()
	ctx := context.Background()
	if err := rv.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Access, ClientID: "app", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if n, err := rv.Revoke(ctx, tok, "app"); err != nil || n != 1 {
		t.Fatalf("Revoke(%s) = %d, %v", tok, n, err)
	}
}

// eventually waits up to 20s for cond, polling.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// revoked reports whether c holds tok revoked, failing the test on an
// error other than staleness.
func revoked(t testing.TB, c *follow.Checker, tok string) bool {
	t.Helper()
	ok, err := c.IsRevoked(context.Background(), tok)
	if err != nil && !errors.Is(err, revoke.ErrStale) {
		t.Fatalf("IsRevoked(%s): %v", tok, err)
	}
	return ok
}
