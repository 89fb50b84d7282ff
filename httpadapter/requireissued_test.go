package httpadapter_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// viewStore is a revoke.Store whose read transactions fail with err once it
// is set, as a store that became unreachable; its Close leaves the memory
// store open, so that several Revokers can share it as processes would.
type viewStore struct {
	*memory.Store
	shared bool
	err    atomic.Pointer[error]
}

func (s *viewStore) View(ctx context.Context, fn func(revoke.Tx) error) error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return s.Store.View(ctx, fn)
}

func (s *viewStore) Capabilities() revoke.Capabilities { return revoke.Capabilities{Shared: s.shared} }
func (s *viewStore) Close() error                      { return nil }

func (s *viewStore) fail(err error) { s.err.Store(&err) }

// issuedFixture is a Revoker over a viewStore with a clock, and tokens of
// client "app": a live access token, a refresh token, a revoked access
// token, and an access token about to expire.
type issuedFixture struct {
	rev   *revoke.Revoker
	store *viewStore
	clock *clock
}

const (
	issuedAccess   = "issued-access-0123456789"
	issuedRefresh  = "issued-refresh-0123456789"
	issuedRevoked  = "issued-revoked-0123456789"
	issuedExpiring = "issued-expiring-0123456789"
)

func newIssuedFixture(t testing.TB, opts ...revoke.Option) *issuedFixture {
	t.Helper()
	f := &issuedFixture{store: &viewStore{Store: memory.New()}, clock: newClock()}
	rev, err := revoke.New(f.store, append([]revoke.Option{revoke.WithClock(f.clock.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rev.Close() })
	f.rev = rev
	ctx := context.Background()
	exp := f.clock.Now().Add(time.Hour)
	for _, tok := range []revoke.Token{
		{Value: issuedRefresh, Kind: revoke.Refresh, ClientID: "app", Subject: "alice", ExpiresAt: exp},
		{Value: issuedAccess, Kind: revoke.Access, ClientID: "app", Parent: issuedRefresh, ExpiresAt: exp},
		{Value: issuedRevoked, Kind: revoke.Access, ClientID: "app", ExpiresAt: exp},
		{Value: issuedExpiring, Kind: revoke.Access, ClientID: "app", ExpiresAt: f.clock.Now().Add(time.Minute)},
	} {
		if err := rev.Issue(ctx, tok); err != nil {
			t.Fatalf("Issue %s: %v", tok.Value, err)
		}
	}
	if _, err := rev.Revoke(ctx, issuedRevoked, "app"); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestRequireIssued checks that with RequireIssued the middleware lets
// through live access tokens only, and turns away made-up, expired and
// refresh tokens as it turns away revoked ones.
func TestRequireIssued(t *testing.T) {
	f := newIssuedFixture(t)
	h := newMiddleware(t, f.rev, httpadapter.RequireIssued())(nextHandler)
	f.clock.Advance(2 * time.Minute) // issuedExpiring has expired
	for _, tc := range []struct {
		name, token string
		status      int
		description string // of the WWW-Authenticate challenge
	}{
		{"issued", issuedAccess, http.StatusTeapot, ""},
		{"made up", "made-up-token-0123456789", http.StatusUnauthorized, "The access token is not valid"},
		{"revoked", issuedRevoked, http.StatusUnauthorized, "The access token has been revoked"},
		{"expired", issuedExpiring, http.StatusUnauthorized, "The access token has expired"},
		{"refresh token", issuedRefresh, http.StatusUnauthorized, "The access token is not valid"},
		{"longer than any token issued", strings.Repeat("x", revoke.MaxTokenLength+1), http.StatusUnauthorized, "The access token is malformed"},
	} {
		rec := serveMiddleware(t, h, bearerRequest("Bearer "+tc.token))
		if rec.Code != tc.status {
			t.Errorf("%s: status %d, want %d; body %s", tc.name, rec.Code, tc.status, rec.Body)
			continue
		}
		want := ""
		if tc.description != "" {
			want = `Bearer error="invalid_token", error_description="` + tc.description + `"`
		}
		if got := rec.Header().Get("WWW-Authenticate"); got != want {
			t.Errorf("%s: WWW-Authenticate %q, want %q", tc.name, got, want)
		}
	}

	// Without the option, the made-up token goes through: the reason for it.
	if rec := serveMiddleware(t, newMiddleware(t, f.rev)(nextHandler), bearerRequest("Bearer made-up-token")); rec.Code != http.StatusTeapot {
		t.Errorf("without RequireIssued, a made-up token got %d", rec.Code)
	}
}

// TestRequireIssuedSpent checks that a rotated refresh token is refused
// too, and that a refresh made after the rotation is still honoured.
func TestRequireIssuedSpent(t *testing.T) {
	f := newIssuedFixture(t)
	ctx := context.Background()
	exp := f.clock.Now().Add(time.Hour)
	if err := f.rev.Rotate(ctx, issuedRefresh, revoke.Token{Value: "next-refresh", Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	if err := f.rev.Issue(ctx, revoke.Token{Value: "next-access", Kind: revoke.Access, ClientID: "app", Parent: "next-refresh", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	h := newMiddleware(t, f.rev, httpadapter.RequireIssued())(nextHandler)
	for token, want := range map[string]int{
		issuedRefresh: http.StatusUnauthorized,
		"next-access": http.StatusTeapot,
		issuedAccess:  http.StatusTeapot, // minted before the rotation, still live
	} {
		if rec := serveMiddleware(t, h, bearerRequest("Bearer "+token)); rec.Code != want {
			t.Errorf("%s: status %d, want %d", token, rec.Code, want)
		}
	}
}

// TestRequireIssuedStoreDown checks that the middleware fails closed when
// the lookup fails: 503 with Retry-After, never the wrapped handler.
func TestRequireIssuedStoreDown(t *testing.T) {
	f := newIssuedFixture(t)
	h := newMiddleware(t, f.rev, httpadapter.RequireIssued(), httpadapter.WithRetryAfter(7*time.Second))(nextHandler)
	f.store.fail(fmt.Errorf("connection refused: %w", revoke.ErrUnavailable))
	rec := serveMiddleware(t, h, bearerRequest("Bearer "+issuedAccess))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "7" {
		t.Errorf("store down: status %d, Retry-After %q; want 503, 7", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// TestRequireIssuedSeesAnotherProcess checks that a token another process
// revoked is refused as revoked by a middleware whose index has not
// followed yet: the lookup reads the store.
func TestRequireIssuedSeesAnotherProcess(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	c := newClock()
	open := func() *revoke.Revoker {
		rev, err := revoke.New(&viewStore{Store: mem, shared: true}, revoke.WithClock(c.Now), revoke.WithFollow(revoke.FollowPolicy{Interval: time.Hour}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rev.Close() })
		return rev
	}
	writer, reader := open(), open()
	if err := writer.Issue(ctx, revoke.Token{Value: "tok", Kind: revoke.Access, ClientID: "app", ExpiresAt: c.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	h := newMiddleware(t, reader, httpadapter.RequireIssued())(nextHandler)
	if rec := serveMiddleware(t, h, bearerRequest("Bearer tok")); rec.Code != http.StatusTeapot {
		t.Fatalf("issued by another process: %d", rec.Code)
	}
	if _, err := writer.Revoke(ctx, "tok", "app"); err != nil {
		t.Fatal(err)
	}
	if revoked, err := reader.IsRevoked(ctx, "tok"); err != nil || revoked {
		t.Fatalf("the reader's index already has the revocation (%v, %v): the test shows nothing", revoked, err)
	}
	rec := serveMiddleware(t, h, bearerRequest("Bearer tok"))
	if rec.Code != http.StatusUnauthorized || message(t, rec) != "token has been revoked" {
		t.Errorf("revoked by another process: %d %s", rec.Code, rec.Body)
	}
}

// TestMiddlewareRefusesRequireIssued checks that RequireIssued over a
// Checker that cannot look tokens up is refused at construction, with an
// error that names it, and that such a Checker is fine without it.
func TestMiddlewareRefusesRequireIssued(t *testing.T) {
	isRevokedOnly := checkerFunc(func(context.Context, string) (bool, error) { return false, nil })
	mw, err := httpadapter.Middleware(isRevokedOnly, httpadapter.RequireIssued())
	if !errors.Is(err, httpadapter.ErrInvalidOption) || mw != nil || !strings.Contains(err.Error(), "RequireIssued") {
		t.Errorf("Middleware(Checker without Lookup, RequireIssued) = %v, want an error wrapping ErrInvalidOption naming RequireIssued", err)
	}
	if _, err := httpadapter.Middleware(isRevokedOnly); err != nil {
		t.Errorf("Middleware without RequireIssued: %v", err)
	}
}

// BenchmarkRequireIssued is the middleware with a store read per request,
// on the memory store: the lookup's own cost (see BenchmarkMiddleware for
// the middleware without it).
func BenchmarkRequireIssued(b *testing.B) {
	f := newIssuedFixture(b)
	h := newMiddleware(b, f.rev, httpadapter.RequireIssued())(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := bearerRequest("Bearer " + issuedAccess)
	w := nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
