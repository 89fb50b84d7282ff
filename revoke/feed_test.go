package revoke_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// sharedStore presents a memory store as Shared, as if other processes
// wrote to it; its reads can be made to fail, as a store that became
// unreachable.
type sharedStore struct {
	*memory.Store
	down atomic.Bool
}

func (s *sharedStore) Capabilities() revoke.Capabilities { return revoke.Capabilities{Shared: true} }

var errDown = errors.New("store is down")

func (s *sharedStore) View(ctx context.Context, fn func(revoke.Tx) error) error {
	if s.down.Load() {
		return errDown
	}
	return s.Store.View(ctx, fn)
}

// Close leaves the memory store open for the other Revokers over it.
func (s *sharedStore) Close() error { return nil }

// notifyingStore is a sharedStore with a change feed the test drives.
type notifyingStore struct {
	sharedStore
	sig chan struct{}
}

func (s *notifyingStore) Capabilities() revoke.Capabilities {
	return revoke.Capabilities{Shared: true, Notify: s.notify}
}

func (s *notifyingStore) notify(ctx context.Context) (<-chan struct{}, error) {
	out := make(chan struct{}, 1)
	go func() {
		defer close(out)
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.sig:
				select {
				case out <- struct{}{}:
				default:
				}
			}
		}
	}()
	return out, nil
}

func issueAndRevoke(t *testing.T, r *revoke.Revoker, tok string) {
	t.Helper()
	ctx := context.Background()
	if err := r.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Access, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Revoke(ctx, tok, "c"); err != nil || n != 1 {
		t.Fatalf("Revoke = %d, %v", n, err)
	}
}

// eventually waits up to 5s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestNotifierWakesTheFollower(t *testing.T) {
	m := memory.New()
	writer, err := revoke.New(&sharedStore{Store: m}, revoke.WithFollow(revoke.FollowPolicy{Interval: 0}))
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	ns := &notifyingStore{sharedStore: sharedStore{Store: m}, sig: make(chan struct{})}
	// The poll would come only after an hour: only the signal can bring
	// the revocation.
	follower, err := revoke.New(ns, revoke.WithFollow(revoke.FollowPolicy{Interval: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	defer follower.Close()

	issueAndRevoke(t, writer, "tok-1")
	time.Sleep(20 * time.Millisecond)
	if ok, err := follower.IsRevoked(context.Background(), "tok-1"); ok || err != nil {
		t.Fatalf("IsRevoked before any signal = %v, %v; want false, nil", ok, err)
	}
	ns.sig <- struct{}{}
	eventually(t, "the follower catching up after a signal", func() bool {
		ok, _ := follower.IsRevoked(context.Background(), "tok-1")
		return ok
	})
}

func TestLagAndMaxLag(t *testing.T) {
	m := memory.New()
	writer, err := revoke.New(&sharedStore{Store: m}, revoke.WithFollow(revoke.FollowPolicy{Interval: 0}))
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	issueAndRevoke(t, writer, "before")
	ss := &sharedStore{Store: m}
	r, err := revoke.New(ss, revoke.WithFollow(revoke.FollowPolicy{Interval: 10 * time.Millisecond, MaxLag: 100 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()

	if lag := r.Lag(); lag < 0 || lag > time.Second {
		t.Fatalf("Lag of a healthy follower = %v", lag)
	}
	if ok, err := r.IsRevoked(ctx, "live"); ok || err != nil {
		t.Fatalf("IsRevoked(live) while healthy = %v, %v", ok, err)
	}

	ss.down.Store(true)
	eventually(t, "IsRevoked failing closed with ErrStale", func() bool {
		_, err := r.IsRevoked(ctx, "live")
		return errors.Is(err, revoke.ErrStale)
	})
	if lag := r.Lag(); lag <= 100*time.Millisecond {
		t.Errorf("Lag while stale = %v, want above the max lag", lag)
	}
	// What the index holds as revoked is still answered.
	if ok, err := r.IsRevoked(ctx, "before"); !ok || err != nil {
		t.Errorf("IsRevoked(revoked) while stale = %v, %v; want true, nil", ok, err)
	}

	issueAndRevoke(t, writer, "during")
	ss.down.Store(false)
	eventually(t, "recovery after the store came back", func() bool {
		ok, err := r.IsRevoked(ctx, "during")
		return ok && err == nil
	})
	eventually(t, "the stale flag clearing", func() bool {
		ok, err := r.IsRevoked(ctx, "live")
		return !ok && err == nil
	})
	if lag := r.Lag(); lag > time.Second {
		t.Errorf("Lag after recovery = %v", lag)
	}
}

func TestLagOfAStoreNotShared(t *testing.T) {
	r, err := revoke.New(memory.New(), revoke.WithFollow(revoke.FollowPolicy{Interval: revoke.DefaultSyncInterval, MaxLag: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if lag := r.Lag(); lag != 0 {
		t.Errorf("Lag = %v, want 0", lag)
	}
}

func TestMaxLagValidated(t *testing.T) {
	for _, opts := range [][]revoke.Option{
		{revoke.WithFollow(revoke.FollowPolicy{Interval: revoke.DefaultSyncInterval, MaxLag: -time.Second})},
		{revoke.WithFollow(revoke.FollowPolicy{Interval: time.Second, MaxLag: time.Second})},
		{revoke.WithFollow(revoke.FollowPolicy{Interval: revoke.DefaultSyncInterval, MaxLag: 500 * time.Millisecond})}, // below the default sync interval
	} {
		if r, err := revoke.New(memory.New(), opts...); err == nil {
			_ = r.Close()
			t.Errorf("New accepted an invalid max lag")
		}
	}
}

func TestIsRevokedDoesNotAllocateWithMaxLag(t *testing.T) {
	m := memory.New()
	writer, err := revoke.New(&sharedStore{Store: m}, revoke.WithFollow(revoke.FollowPolicy{Interval: 0}))
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	issueAndRevoke(t, writer, "revoked")
	ss := &sharedStore{Store: m}
	r, err := revoke.New(ss, revoke.WithFollow(revoke.FollowPolicy{Interval: 10 * time.Millisecond, MaxLag: 50 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	check := func(when string) {
		for _, tok := range []string{"revoked", "live"} {
			if n := testing.AllocsPerRun(100, func() { _, _ = r.IsRevoked(ctx, tok) }); n != 0 {
				t.Errorf("IsRevoked(%s) %s: %v allocs, want 0", tok, when, n)
			}
		}
	}
	check("healthy")
	ss.down.Store(true)
	eventually(t, "staleness", func() bool {
		_, err := r.IsRevoked(ctx, "live")
		return errors.Is(err, revoke.ErrStale)
	})
	check("stale")
}
