package revoke_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// lockedClock is a clock tests move from one goroutine while a Revoker's
// goroutines read it.
type lockedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *lockedClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *lockedClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// revokeElsewhere commits a revocation of token to s as another process
// sharing the store would.
func revokeElsewhere(t *testing.T, s revoke.Store, token string, exp time.Time) {
	t.Helper()
	ctx := context.Background()
	err := s.Update(ctx, func(tx revoke.Tx) error {
		seq, err := tx.NextSeq(ctx)
		if err != nil {
			return err
		}
		id := revoke.TokenID(token)
		return tx.Put(ctx, []revoke.Record{{ID: id, Check: revoke.Checksum(token), Kind: revoke.Access,
			ClientID: "app", Grant: id, ExpiresAt: exp.UTC(), Seq: seq}})
	})
	mustDo(t, err)
}

// waitFor polls cond until it holds, failing the test after a generous
// bound (it is a bound on a broken follower, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestFollowerShedsExpired checks that a Revoker that follows a shared
// store and never purges (another replica runs the janitor) drops expired
// revocations from its index on its own.
func TestFollowerShedsExpired(t *testing.T) {
	ctx := context.Background()
	clock := &lockedClock{now: time.Now()}
	s := followedStore{memory.New()}
	r, err := revoke.New(s, revoke.WithClock(clock.Now), revoke.WithFollow(revoke.FollowPolicy{Interval: 5 * time.Millisecond}))
	mustDo(t, err)
	defer r.Close()
	for _, tok := range []string{"a", "b", "c"} {
		revokeElsewhere(t, s, tok, clock.Now().Add(time.Hour))
	}
	revokeElsewhere(t, s, "long", clock.Now().Add(48*time.Hour))
	waitFor(t, "the follower loads the revocations", func() bool { return r.Stats().IndexEntries == 4 })
	// The other replica's janitor purges the records; this one never
	// purges, and its clock moves past the expiry and the grace.
	clock.Advance(4 * time.Hour)
	waitFor(t, "the follower sheds the three expired entries", func() bool { return r.Stats().IndexEntries == 1 })
	if ok, err := r.IsRevoked(ctx, "long"); err != nil || !ok {
		t.Errorf("IsRevoked of an unexpired revocation after the shed = %v, %v", ok, err)
	}
}

// TestWritesShedExpired checks that a Revoker over a store only it writes,
// without a janitor, sheds expired entries as it goes on writing.
func TestWritesShedExpired(t *testing.T) {
	ctx := context.Background()
	clock := &lockedClock{now: time.Now()}
	r, err := revoke.New(memory.New(), revoke.WithClock(clock.Now))
	mustDo(t, err)
	defer r.Close()
	issue := func(v string) {
		t.Helper()
		mustDo(t, r.Issue(ctx, revoke.Token{Value: v, Kind: revoke.Access, ClientID: "app", ExpiresAt: clock.Now().Add(time.Hour)}))
	}
	for _, v := range []string{"a", "b", "c"} {
		issue(v)
		if _, err := r.Revoke(ctx, v, "app"); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.Stats().IndexEntries; n != 3 {
		t.Fatalf("IndexEntries = %d, want 3", n)
	}
	clock.Advance(4 * time.Hour)
	issue("d")
	if _, err := r.Revoke(ctx, "d", "app"); err != nil {
		t.Fatal(err)
	}
	if n := r.Stats().IndexEntries; n != 1 {
		t.Errorf("IndexEntries after the others expired = %d, want 1", n)
	}
}
