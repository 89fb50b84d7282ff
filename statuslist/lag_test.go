package statuslist

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// cutOffStore is a memory store that declares itself Shared, as a store
// other replicas write is, and whose reads fail while cut is set: the
// Revoker over it cannot catch up, and its lag grows.
type cutOffStore struct {
	revoke.Store
	cut atomic.Bool
}

func (s *cutOffStore) Capabilities() revoke.Capabilities {
	c := s.Store.Capabilities()
	c.Shared = true
	return c
}

func (s *cutOffStore) View(ctx context.Context, fn func(revoke.Tx) error) error {
	if s.cut.Load() {
		return fmt.Errorf("cut off: %w", revoke.ErrUnavailable)
	}
	return s.Store.View(ctx, fn)
}

// TestMaxLagRefusesStaleLists cuts a replica off from its store: its
// Issuer with WithMaxLag answers 503 with Retry-After once the Revoker's
// lag passes the bound, and serves lists again once a catch-up succeeds;
// an Issuer without the option serves on.
func TestMaxLagRefusesStaleLists(t *testing.T) {
	s := &cutOffStore{Store: memory.New()}
	rv, err := revoke.New(s, revoke.WithFollow(revoke.FollowPolicy{Interval: 10 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rv.Close() })
	key := newKey(t)
	const maxLag = 200 * time.Millisecond
	bounded, unbounded := newIssuer(t, rv, key, WithMaxLag(maxLag)), newIssuer(t, rv, key)
	get := func(is *Issuer) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		is.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, testBase+"/00000000000000ab", nil))
		return rec
	}
	if got := get(bounded).Code; got != http.StatusOK {
		t.Fatalf("a replica in step: %d, want 200", got)
	}

	s.cut.Store(true)
	for deadline := time.Now().Add(5 * time.Second); rv.Lag() <= maxLag; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the lag stays at %v with the store cut off", rv.Lag())
		}
	}
	if rec := get(bounded); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("lag %v over WithMaxLag(%v): %d (Retry-After %q), want 503 with Retry-After", rv.Lag(), maxLag, rec.Code, rec.Header().Get("Retry-After"))
	}
	if got := get(unbounded).Code; got != http.StatusOK {
		t.Errorf("lag %v without WithMaxLag: %d, want 200", rv.Lag(), got)
	}

	s.cut.Store(false)
	for deadline := time.Now().Add(5 * time.Second); get(bounded).Code != http.StatusOK; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still refused with the store back, lag %v", rv.Lag())
		}
	}
}
