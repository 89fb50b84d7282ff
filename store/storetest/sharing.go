package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// Option adds to what Run checks.
type Option func(*config)

type config struct {
	reopen func(t *testing.T, s revoke.Store) (revoke.Store, error)
}

// WithReopen gives Run a way to open a second Store over the same data as s
// (the same file, database or tables), as another process or another part
// of the application would, and adds the subtest SecondStoreOverSameData.
// reopen returns an error when the backend refuses a second Store (a file
// lock, a handle already in use): that is one of the two behaviours the
// subtest accepts. The other is a Shared store whose Revokers converge: a
// revocation committed through either Store reaches the other's IsRevoked
// within the sync interval. A second Store over data that is not Shared
// fails the subtest, since its Revoker would never learn the first one's
// revocations. The suite closes what reopen returns.
func WithReopen(reopen func(t *testing.T, s revoke.Store) (revoke.Store, error)) Option {
	return func(c *config) { c.reopen = reopen }
}

// testOneRevokerPerStore: a second Revoker over the same Store value is
// refused, since its index would never learn the first one's revocations.
func testOneRevokerPerStore(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	r2, err := revoke.New(e.store, revoke.WithClock(e.clock.Now))
	if !errors.Is(err, revoke.ErrStoreInUse) {
		if r2 != nil {
			_ = r2.Close()
		}
		t.Fatalf("second revoke.New over the same Store: err = %v, want ErrStoreInUse", err)
	}
	// The refusal changed nothing: the first Revoker works on.
	at := e.issue(revoke.Access, "c1", "", time.Hour)
	e.revoke(at, "c1", 1)
	e.wantRevoked("access", at)
}

// testSecondStore checks a second Store over the same data: refused, or
// Shared with both Revokers converging.
func testSecondStore(t *testing.T, open func(*testing.T) revoke.Store, reopen func(*testing.T, revoke.Store) (revoke.Store, error)) {
	const interval = 10 * time.Millisecond
	e := setup(t, open, revoke.WithSyncInterval(interval))
	g1 := e.newGrant("c1", 2)
	s2, err := reopen(t, e.store)
	if err != nil {
		t.Logf("the backend refuses a second Store over the same data: %v", err)
		e.revoke(g1.R[0], "c1", 4)
		e.wantRevoked("grant", g1.all()...)
		return
	}
	if sh, ok := s2.(revoke.Shared); !ok || !sh.Shared() {
		_ = s2.Close()
		t.Fatal("reopen gave a second Store over data that is not Shared: its Revoker would never see the first one's revocations; refuse it or make the store Shared")
	}
	r2, err := revoke.New(s2, revoke.WithClock(e.clock.Now), revoke.WithSyncInterval(interval))
	if err != nil {
		_ = s2.Close()
		t.Fatalf("revoke.New over the second Store: %v", err)
	}
	t.Cleanup(func() { _ = r2.Close() })
	e2 := *e
	e2.store, e2.r = s2, r2
	g2 := e2.newGrant("c1", 2)
	at := e.issue(revoke.Access, "c1", "", time.Hour)

	// Each Revoker's revocations reach the other.
	e.revoke(at, "c1", 1)
	e.revoke(g1.R[1], "c1", 4)
	e2.revoke(g2.R[0], "c1", 4)
	eventually(t, "revocations through the first Store, seen by the second", r2, append(g1.all(), at)...)
	eventually(t, "revocations through the second Store, seen by the first", e.r, g2.all()...)
}

// eventually waits up to 10 s for every token to be reported revoked by r.
func eventually(t *testing.T, what string, r *revoke.Revoker, toks ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i, tok := range toks {
		for {
			ok, err := r.IsRevoked(t.Context(), tok)
			if err != nil {
				t.Fatalf("%s: IsRevoked: %v", what, err)
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: token %d not revoked after 10 s", what, i)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
