package follow_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/sdkauth/revocation/follow"
	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// Over HTTP/2 a write deadline that passes kills the stream even when no
// write is under way: an idle stream whose heartbeat is longer than the
// write timeout must stay open all the same.
func TestIdleHTTP2StreamOutlivesWriteTimeout(t *testing.T) {
	rv, err := revoke.New(memory.New())
	if err != nil {
		t.Fatal(err)
	}
	feed, err := httpadapter.NewFeedHandler(rv, httpadapter.WithFeedSecret(secret),
		httpadapter.WithFeedHeartbeat(time.Second), httpadapter.WithFeedWriteTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(feed)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(func() { _ = rv.Close(); srv.Close() })
	c := follower(t, srv.URL+httpadapter.FeedPath, follow.WithHTTPClient(srv.Client()))
	time.Sleep(2500 * time.Millisecond)
	revokeNew(t, rv, "after-idle")
	eventually(t, "revocation after idle", func() bool { return revoked(t, c, "after-idle") })
	if st := c.Stats(); st.Reconnects != 0 {
		t.Fatalf("the idle stream was cut %d times (last: %v)", st.Reconnects, st.LastError)
	}
}
