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
// (the same file, database or tables), as another process or another
// replica would, and adds the subtests of SecondStoreOverSameData. Every
// backend whose data another process can reach (a file other processes may
// open, a database server) must pass it; Run fails a Store whose
// Capabilities declare Shared without it.
//
// reopen returns an error when the backend refuses a second Store (a file
// lock, a handle already in use): that is one of the two behaviours the
// suite accepts, and the races below are then skipped. The other is a
// Shared store: both Stores' Revokers converge (a revocation committed
// through either reaches the other's IsRevoked within the sync interval),
// and their writes are serializable across the two Stores: of concurrent
// Rotates of one token through both, exactly one wins; an Issue under a
// grant racing a Revoke of it through the other Store is refused or
// revoked; and revocation sequence numbers become visible in order, so a
// follower reading RevokedSince never skips one. A second Store over data
// that is not Shared fails, since its Revoker would never learn the first
// one's revocations. The suite closes what reopen returns.
func WithReopen(reopen func(t *testing.T, s revoke.Store) (revoke.Store, error)) Option {
	return func(c *config) { c.reopen = reopen }
}

// testOneRevokerPerStore: a second Revoker over the same Store value is
// refused, since its index would never learn the first one's revocations.
func testOneRevokerPerStore(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	r2, err := revoke.New(e.Store, revoke.WithClock(e.Clock.Now))
	if !errors.Is(err, revoke.ErrStoreInUse) {
		if r2 != nil {
			_ = r2.Close()
		}
		t.Fatalf("second revoke.New over the same Store: err = %v, want ErrStoreInUse", err)
	}
	// The refusal changed nothing: the first Revoker works on.
	at := e.Issue(revoke.Access, "c1", "", time.Hour)
	e.Revoke(at, "c1", 1)
	e.WantRevoked("access", at)
}

// testSecondStore runs the checks of a second Store over the same data, or,
// without WithReopen, checks that the Store does not need them.
func testSecondStore(t *testing.T, open func(*testing.T) revoke.Store, reopen func(*testing.T, revoke.Store) (revoke.Store, error)) {
	if reopen == nil {
		testSharedNeedsReopen(t, open)
		return
	}
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, func(*testing.T) revoke.Store, func(*testing.T, revoke.Store) (revoke.Store, error))
	}{
		{"Converge", testConverge},
		{"RotateRace", testRotateAcrossStores},
		{"IssueRevokeRace", testIssueRevokeAcrossStores},
		{"SeqVisibleInOrder", testSeqOrderAcrossStores},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open, reopen) })
	}
}

// testSharedNeedsReopen: a Store that declares Shared is written by
// other processes, and Run cannot check that without a second Store.
func testSharedNeedsReopen(t *testing.T, open func(*testing.T) revoke.Store) {
	s := open(t)
	defer s.Close()
	if isShared(s) {
		t.Fatal("Shared: the Store's Capabilities declare Shared (other processes write its data), but Run was given no way " +
			"to open a second Store over the same data: pass storetest.WithReopen so the suite can check that the " +
			"writes of two Stores are serialized and their revocations reach each other")
	}
}

// isShared reports whether s says other processes may write its data.
func isShared(s revoke.Store) bool {
	return s.Capabilities().Shared
}

// testConverge checks a second Store over the same data: refused, or
// Shared with both Revokers converging.
func testConverge(t *testing.T, open func(*testing.T) revoke.Store, reopen func(*testing.T, revoke.Store) (revoke.Store, error)) {
	const interval = 10 * time.Millisecond
	e := setup(t, open, revoke.WithFollow(revoke.FollowPolicy{Interval: interval}))
	g1 := e.NewGrant("c1", 2)
	s2, err := reopen(t, e.Store)
	if err != nil {
		t.Logf("the backend refuses a second Store over the same data: %v", err)
		e.Revoke(g1.R[0], "c1", 4)
		e.WantRevoked("grant", g1.All()...)
		return
	}
	requireShared(t, e, s2)
	r2, err := revoke.New(s2, revoke.WithClock(e.Clock.Now), revoke.WithFollow(revoke.FollowPolicy{Interval: interval}))
	if err != nil {
		_ = s2.Close()
		t.Fatalf("revoke.New over the second Store: %v", err)
	}
	t.Cleanup(func() { _ = r2.Close() })
	inner := *e.Env // the same test and clock, the second Store and Revoker
	inner.Store, inner.R = s2, r2
	e2 := env{&inner}
	g2 := e2.NewGrant("c1", 2)
	at := e.Issue(revoke.Access, "c1", "", time.Hour)

	// Each Revoker's revocations reach the other.
	e.Revoke(at, "c1", 1)
	e.Revoke(g1.R[1], "c1", 4)
	e2.Revoke(g2.R[0], "c1", 4)
	eventually(t, "revocations through the first Store, seen by the second", r2, append(g1.All(), at)...)
	eventually(t, "revocations through the second Store, seen by the first", e.R, g2.All()...)
}

// requireShared fails the test, closing s2, unless s2, a second Store over
// the data of e's, declares Shared. Its message says whether s2
// sees e's commits (the store must be Shared) or not (reopen opened other
// data).
func requireShared(t *testing.T, e *env, s2 revoke.Store) {
	t.Helper()
	if isShared(s2) {
		return
	}
	defer s2.Close()
	probe := e.Issue(revoke.Access, "c1", "", time.Hour)
	var found bool
	err := s2.View(e.Ctx, func(tx revoke.Tx) error {
		var err error
		_, found, err = getOne(e.Ctx, tx, revoke.TokenID(probe))
		return err
	})
	switch {
	case err != nil:
		t.Fatalf("Store.View of the second Store: %v", err)
	case found:
		t.Fatal("Shared: a second Store over the same data sees the first one's commits, but the store's " +
			"Capabilities do not declare Shared, so its Revoker would never follow the other Store's revocations: other processes " +
			"write this data, so Capabilities must declare Shared (or the backend must refuse the second Store)")
	default:
		t.Fatal("WithReopen: the second Store does not see a record the first one committed: reopen must open a " +
			"Store over the same data (the same file, database or tables), or refuse with an error")
	}
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
