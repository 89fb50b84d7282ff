package follow_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/follow"
	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// TestFollowerGetsSnapshotAndChanges checks that New returns with the
// revocations made before it, and that those made after reach the
// follower: direct, by cascade, by subject.
func TestFollowerGetsSnapshotAndChanges(t *testing.T) {
	ctx := context.Background()
	a := newAuthServer(t, nil, nil)
	for i := range 700 { // more than one frame
		revokeNew(t, a.rv, fmt.Sprint("before-", i))
	}
	c := follower(t, a.url)
	for i := range 700 {
		if !revoked(t, c, fmt.Sprint("before-", i)) {
			t.Fatalf("before-%d not revoked once New returned", i)
		}
	}
	if st := c.Stats(); st.Entries != 700 || st.Snapshots != 1 || !st.Connected || st.Epoch != a.rv.Epoch() {
		t.Errorf("Stats = %+v", st)
	}

	revokeNew(t, a.rv, "after")
	for _, tok := range []revoke.Token{
		{Value: "r1", Kind: revoke.Refresh, Subject: "alice"},
		{Value: "a1", Kind: revoke.Access, Parent: "r1"},
		{Value: "r2", Kind: revoke.Refresh, Subject: "alice"},
	} {
		tok.ClientID, tok.ExpiresAt = "app", time.Now().Add(time.Hour)
		if err := a.rv.Issue(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.rv.Revoke(ctx, "r1", "app"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.rv.RevokeSubject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"after", "r1", "a1", "r2"} {
		eventually(t, tok+" reaching the follower", func() bool { return revoked(t, c, tok) })
	}
	if revoked(t, c, "never-revoked") {
		t.Error("a token never revoked is revoked")
	}
	_, head := a.rv.ChangeRange()
	eventually(t, "the follower at the head", func() bool { return c.Stats().Position == head })
	if n := c.Stats().Entries; n != 704 {
		t.Errorf("Entries = %d, want 704", n)
	}
}

// TestIsRevokedDoesNotAllocate checks a hit and a miss, with and without
// a max lag.
func TestIsRevokedDoesNotAllocate(t *testing.T) {
	a := newAuthServer(t, nil, nil)
	revokeNew(t, a.rv, "revoked")
	ctx := context.Background()
	for _, c := range []*follow.Checker{follower(t, a.url), follower(t, a.url, follow.WithMaxLag(time.Hour))} {
		for tok, want := range map[string]bool{"revoked": true, "live": false} {
			if got, err := c.IsRevoked(ctx, tok); got != want || err != nil {
				t.Fatalf("IsRevoked(%s) = %v, %v", tok, got, err)
			}
			if n := testing.AllocsPerRun(1000, func() { _, _ = c.IsRevoked(ctx, tok) }); n != 0 {
				t.Errorf("IsRevoked(%s): %v allocations, want 0", tok, n)
			}
		}
	}
}

// TestFollowerResumes cuts the follower's connection: it reconnects and
// resumes from its position, without a snapshot, and misses nothing
// revoked while it was away.
func TestFollowerResumes(t *testing.T) {
	a := newAuthServer(t, nil, nil)
	revokeNew(t, a.rv, "t0")
	c := follower(t, a.url)
	a.down.Store(true)
	a.srv.CloseClientConnections()
	eventually(t, "the follower noticing", func() bool { return c.Stats().Reconnects > 0 })
	for i := range 5 {
		revokeNew(t, a.rv, fmt.Sprint("away-", i))
	}
	a.down.Store(false)
	for i := range 5 {
		eventually(t, "a revocation made while away", func() bool { return revoked(t, c, fmt.Sprint("away-", i)) })
	}
	if st := c.Stats(); st.Snapshots != 1 {
		t.Errorf("Snapshots = %d, want 1: the follower should have resumed", st.Snapshots)
	}
}

// TestFollowerReloadsWhenItsPositionIsGone lets the server's change log
// drop the follower's position while it is away: the server sends a
// snapshot, which the follower loads.
func TestFollowerReloadsWhenItsPositionIsGone(t *testing.T) {
	a := newAuthServer(t, nil, []revoke.Option{revoke.WithChangeLog(4)})
	revokeNew(t, a.rv, "t0")
	c := follower(t, a.url)
	a.down.Store(true)
	a.srv.CloseClientConnections()
	eventually(t, "the follower noticing", func() bool { return c.Stats().Reconnects > 0 })
	for i := range 10 {
		revokeNew(t, a.rv, fmt.Sprint("away-", i))
	}
	if oldest, _ := a.rv.ChangeRange(); oldest <= c.Stats().Position {
		t.Fatalf("the log still holds position %d", c.Stats().Position)
	}
	a.down.Store(false)
	eventually(t, "a second snapshot", func() bool { return c.Stats().Snapshots == 2 })
	for i := range 10 {
		if !revoked(t, c, fmt.Sprint("away-", i)) {
			t.Errorf("away-%d not revoked after the reload", i)
		}
	}
	if !revoked(t, c, "t0") || c.Stats().Entries != 11 {
		t.Errorf("after the reload: t0 %v, %d entries; want true, 11", revoked(t, c, "t0"), c.Stats().Entries)
	}
}

// TestMaxLagFailsClosed stops the feed: once the lag exceeds the bound,
// IsRevoked fails with ErrStale for live tokens and the middleware answers
// 503; revoked tokens stay revoked; when the feed returns, so does the
// follower.
func TestMaxLagFailsClosed(t *testing.T) {
	a := newAuthServer(t, nil, nil)
	revokeNew(t, a.rv, "revoked")
	c := follower(t, a.url, follow.WithMaxLag(300*time.Millisecond))
	ctx := context.Background()
	if _, err := c.IsRevoked(ctx, "live"); err != nil {
		t.Fatalf("IsRevoked while caught up: %v", err)
	}
	a.down.Store(true)
	a.srv.CloseClientConnections()
	eventually(t, "staleness", func() bool {
		_, err := c.IsRevoked(ctx, "live")
		return errors.Is(err, revoke.ErrStale)
	})
	if c.Lag() <= 300*time.Millisecond {
		t.Errorf("Lag while stale = %v", c.Lag())
	}
	if ok, err := c.IsRevoked(ctx, "revoked"); !ok || err != nil {
		t.Errorf("IsRevoked(revoked) while stale = %v, %v", ok, err)
	}
	protect, err := httpadapter.Middleware(c)
	if err != nil {
		t.Fatal(err)
	}
	api := protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/api", nil)
	req.Header.Set("Authorization", "Bearer live")
	api.ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("middleware while stale: %d, want 503", rec.Code)
	}
	a.down.Store(false)
	eventually(t, "recovery", func() bool {
		_, err := c.IsRevoked(ctx, "live")
		return err == nil
	})
}

// TestMaxLagBelowHeartbeat: a follower whose bound the server's heartbeat
// would always exceed is refused at New.
func TestMaxLagBelowHeartbeat(t *testing.T) {
	a := newAuthServer(t, nil, nil, httpadapter.WithFeedHeartbeat(time.Second))
	_, err := follow.New(context.Background(), a.url, follow.WithBearer(secret), follow.WithMaxLag(500*time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), "heartbeat") {
		t.Fatalf("New = %v, want an error naming the heartbeat", err)
	}
}

// TestFollowerSheds checks that expired entries leave the index.
func TestFollowerSheds(t *testing.T) {
	a := newAuthServer(t, nil, nil)
	revokeNew(t, a.rv, "soon")
	now := time.Now()
	var skew atomic.Int64
	c := follower(t, a.url, follow.WithSweep(time.Millisecond, time.Minute),
		follow.WithClock(func() time.Time { return now.Add(time.Duration(skew.Load())) }))
	if c.Stats().Entries != 1 {
		t.Fatal("no entry")
	}
	// The token expires in an hour: half an hour on, sweeps keep it.
	skew.Store(int64(30 * time.Minute))
	time.Sleep(50 * time.Millisecond) // sweeps every millisecond
	if c.Stats().Entries != 1 || !revoked(t, c, "soon") {
		t.Fatal("the entry was swept before its token expired")
	}
	// Its expiry came in the snapshot, rounded up to the server index's
	// resolution, then to the follower's (by up to an hour each): past
	// that and the grace, it goes.
	skew.Store(int64(time.Hour + 2*revoke.ExpiryResolution + 2*time.Minute))
	eventually(t, "the sweep", func() bool { return c.Stats().Entries == 0 })
	if revoked(t, c, "soon") {
		t.Error("an expired entry is still revoked after the sweep")
	}
}

// TestTokenKeyAndUncheckedEntries follows a server that keys tokens with a
// key function and holds an imported revocation without a checksum.
func TestTokenKeyAndUncheckedEntries(t *testing.T) {
	ctx := context.Background()
	key := func(tok string) (string, bool) {
		k, _, ok := strings.Cut(tok, ".")
		return k, ok && k != ""
	}
	s := memory.New()
	id := revoke.TokenID("imported")
	rec := revoke.Record{ID: id, Kind: revoke.Access, ClientID: "app", Grant: id, ExpiresAt: time.Now().Add(time.Hour).UTC(), Seq: 1}
	if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) }); err != nil {
		t.Fatal(err)
	}
	a := newAuthServer(t, s, []revoke.Option{revoke.WithTokenKey(key)})
	if _, err := a.rv.RevokeUntracked(ctx, "jti-1", "app", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := follower(t, a.url, follow.WithTokenKey(key))
	for tok, want := range map[string]bool{"jti-1.sig-a": true, "jti-1.sig-b": true, "imported.x": true, "jti-2.sig": false} {
		if got, err := c.IsRevoked(ctx, tok); got != want || err != nil {
			t.Errorf("IsRevoked(%s) = %v, %v; want %v", tok, got, err, want)
		}
		if rv, _ := a.rv.IsRevoked(ctx, tok); rv != want {
			t.Errorf("the Revoker says %v for %s", rv, tok)
		}
	}
	if ok, err := c.IsRevoked(ctx, "no-dot"); !ok || !errors.Is(err, revoke.ErrInvalidToken) {
		t.Errorf("IsRevoked of a token the key function refuses = %v, %v", ok, err)
	}
}

func TestOptionsValidated(t *testing.T) {
	ctx := context.Background()
	for name, opts := range map[string][]follow.Option{
		"nil option":     {nil},
		"client timeout": {follow.WithHTTPClient(&http.Client{Timeout: time.Second})},
		"nil client":     {follow.WithHTTPClient(nil)},
		"empty bearer":   {follow.WithBearer("")},
		"nil editor":     {follow.WithRequestEditor(nil)},
		"backoff":        {follow.WithBackoff(time.Second, time.Millisecond)},
		"negative lag":   {follow.WithMaxLag(-time.Second)},
		"nil key":        {follow.WithTokenKey(nil)},
		"sweep":          {follow.WithSweep(0, 0)},
		"connect":        {follow.WithConnectTimeout(0)},
		"nil clock":      {follow.WithClock(nil)},
		"nil logger":     {follow.WithLogger(nil)},
		"bad URL":        {follow.WithURLs("ftp://x/")},
		"no host":        {follow.WithURLs("http:///x")},
	} {
		if _, err := follow.New(ctx, "http://127.0.0.1:1/", opts...); !errors.Is(err, follow.ErrInvalidOption) {
			t.Errorf("%s: New = %v, want ErrInvalidOption", name, err)
		}
	}
}

// TestCloseStopsIt checks Close and IsRevoked after it.
func TestCloseStopsIt(t *testing.T) {
	a := newAuthServer(t, nil, nil)
	c := follower(t, a.url)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.IsRevoked(context.Background(), "x"); !errors.Is(err, revoke.ErrClosed) {
		t.Errorf("IsRevoked after Close = %v", err)
	}
	if err := c.Close(); !errors.Is(err, revoke.ErrClosed) {
		t.Errorf("second Close = %v", err)
	}
}
