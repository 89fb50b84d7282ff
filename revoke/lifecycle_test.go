package revoke_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// recorder is an observer that keeps the events it receives.
type recorder struct {
	mu     sync.Mutex
	events []revoke.Event
}

func (r *recorder) observe(ev revoke.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

// take returns the events received since the last take.
func (r *recorder) take() []revoke.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.events
	r.events = nil
	return evs
}

// followedStore is a memory store that says other processes write to it, so
// that a Revoker over it runs the follower.
type followedStore struct{ *memory.Store }

func (followedStore) Capabilities() revoke.Capabilities { return revoke.Capabilities{Shared: true} }

// failingStore fails every Update once fail is set.
type failingStore struct {
	revoke.Store
	mu   sync.Mutex
	fail bool
}

var errDisk = errors.New("disk on fire")

func (s *failingStore) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail {
		return errDisk
	}
	return s.Store.Update(ctx, fn)
}

func tok(kind revoke.Kind, value, client, subject, parent string, ttl time.Duration) revoke.Token {
	return revoke.Token{Value: value, Kind: kind, ClientID: client, Subject: subject, Parent: parent, ExpiresAt: time.Now().Add(ttl)}
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantEvent(t *testing.T, evs []revoke.Event, want revoke.Event) {
	t.Helper()
	if len(evs) != 1 {
		t.Fatalf("got %d events %+v, want one %v", len(evs), evs, want.Kind)
	}
	ev := evs[0]
	if ev.Kind != want.Kind || ev.Op != want.Op || ev.Reason != want.Reason || ev.Count != want.Count ||
		ev.ClientID != want.ClientID || ev.Subject != want.Subject || (want.Grant != "" && ev.Grant != want.Grant) {
		t.Errorf("event %+v, want %+v", ev, want)
	}
}

// TestObserverEvents: one event per operation, after commit, with reason,
// client, subject, counts and a grant reference, never a raw token.
func TestObserverEvents(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	fs := &failingStore{Store: memory.New()}
	// The Revoker's clock runs ahead when the test says, so that a token
	// expires at a known step, however slow the machine.
	var ahead atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	r, err := revoke.New(fs, revoke.WithObserver(rec.observe), revoke.WithPurge(revoke.PurgePolicy{Grace: 0, Batch: revoke.DefaultPurgeBatch}), revoke.WithClock(clock))
	mustDo(t, err)
	defer r.Close()
	raw := []string{"root-secret", "access-secret", "next-secret", "again-secret", "lone-access", "bob-root", "short-lived"}
	ref := revoke.GrantRef(revoke.TokenID("root-secret"))

	root := tok(revoke.Refresh, "root-secret", "app", "alice", "", time.Hour)
	mustDo(t, r.Issue(ctx, root))
	wantEvent(t, rec.take(), revoke.Event{Kind: revoke.EventIssued, Op: "Issue", ClientID: "app", Subject: "alice", Grant: ref, Count: 1})
	mustDo(t, r.Issue(ctx, root)) // a retry changes nothing
	if evs := rec.take(); len(evs) != 0 {
		t.Errorf("a retried Issue reported %+v, want nothing", evs)
	}
	mustDo(t, r.Issue(ctx, tok(revoke.Access, "access-secret", "app", "", "root-secret", time.Hour)))
	wantEvent(t, rec.take(), revoke.Event{Kind: revoke.EventIssued, Op: "Issue", ClientID: "app", Subject: "alice", Grant: ref, Count: 1})
	mustDo(t, r.Rotate(ctx, "root-secret", tok(revoke.Refresh, "next-secret", "app", "", "", time.Hour)))
	wantEvent(t, rec.take(), revoke.Event{Kind: revoke.EventRotated, Op: "Rotate", ClientID: "app", Subject: "alice", Grant: ref})

	err = r.Rotate(ctx, "root-secret", tok(revoke.Refresh, "again-secret", "app", "", "", time.Hour))
	if !errors.Is(err, revoke.ErrReused) {
		t.Fatalf("Rotate of a spent token: %v, want ErrReused", err)
	}
	wantEvent(t, rec.take(), revoke.Event{Kind: revoke.EventReuse, Op: "Rotate", Reason: revoke.ReasonReuse, ClientID: "app", Subject: "alice", Grant: ref, Count: 3})

	mustDo(t, r.Issue(ctx, tok(revoke.Access, "lone-access", "app", "alice", "", time.Hour)))
	rec.take()
	if _, err := r.Revoke(ctx, "lone-access", "app"); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, rec.take(), revoke.Event{Kind: revoke.EventRevoked, Op: "Revoke", Reason: revoke.ReasonDirect, ClientID: "app", Subject: "alice", Count: 1})

	mustDo(t, r.Issue(ctx, tok(revoke.Refresh, "bob-root", "app", "bob", "", time.Hour)))
	rec.take()
	if _, err := r.RevokeSubject(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, rec.take(), revoke.Event{Kind: revoke.EventRevoked, Op: "RevokeSubject", Reason: revoke.ReasonSubject, Subject: "bob", Count: 1})
	mustDo(t, r.Issue(ctx, tok(revoke.Refresh, "short-lived", "other", "", "", time.Minute)))
	rec.take()
	if _, err := r.RevokeClient(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	wantEvent(t, rec.take(), revoke.Event{Kind: revoke.EventRevoked, Op: "RevokeClient", Reason: revoke.ReasonClient, ClientID: "other", Count: 1})

	ahead.Store(int64(2 * time.Minute)) // short-lived has expired, the others have not
	if n, err := r.Purge(ctx); err != nil || n != 1 {
		t.Fatalf("Purge = (%d, %v), want 1", n, err)
	}
	wantEvent(t, rec.take(), revoke.Event{Kind: revoke.EventPurged, Op: "Purge", Count: 1})

	fs.mu.Lock()
	fs.fail = true
	fs.mu.Unlock()
	if err := r.Issue(ctx, tok(revoke.Access, "x-secret", "app", "", "", time.Hour)); !errors.Is(err, errDisk) {
		t.Fatalf("Issue on a failing store: %v", err)
	}
	evs := rec.take()
	if len(evs) != 1 || evs[0].Kind != revoke.EventStoreError || evs[0].Op != "Issue" || !errors.Is(evs[0].Err, errDisk) {
		t.Errorf("events of a failed Issue: %+v, want one store error", evs)
	}
	fs.mu.Lock()
	fs.fail = false
	fs.mu.Unlock()
	gaveUp, cancel := context.WithCancel(ctx)
	cancel()
	if err := r.Issue(gaveUp, tok(revoke.Access, "y-secret", "app", "", "", time.Hour)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Issue of a caller that gave up: %v", err)
	}
	if evs := rec.take(); len(evs) != 0 {
		t.Errorf("events of an Issue whose caller gave up: %+v, want none: the store did not fail", evs)
	}

	// No raw token, nor a token's storage ID, in any event.
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, ev := range rec.events {
		s := fmt.Sprintf("%+v", ev)
		for _, v := range raw {
			if strings.Contains(s, v) || strings.Contains(s, revoke.TokenID(v).String()[:12]) {
				t.Errorf("event %s holds a raw token or its ID", s)
			}
		}
	}
}

// TestObserverFollower: the follower reports what it loaded, and Stats its
// lag.
func TestObserverFollower(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	s := followedStore{memory.New()}
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r, err := revoke.New(s, revoke.WithObserver(rec.observe), revoke.WithFollow(revoke.FollowPolicy{Interval: 5 * time.Millisecond}), revoke.WithClock(clock))
	mustDo(t, err)
	defer r.Close()
	// Another process revokes a token.
	err = s.Update(ctx, func(tx revoke.Tx) error {
		seq, err := tx.NextSeq(ctx)
		if err != nil {
			return err
		}
		id := revoke.TokenID("elsewhere")
		return tx.Put(ctx, []revoke.Record{{ID: id, Check: revoke.Checksum("elsewhere"), Kind: revoke.Access, ClientID: "app", Grant: id, ExpiresAt: now.Add(time.Hour), Seq: seq}})
	})
	mustDo(t, err)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if ok, _ := r.IsRevoked(ctx, "elsewhere"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the follower did not load the revocation")
		}
		time.Sleep(time.Millisecond)
	}
	var synced *revoke.Event
	for _, ev := range rec.take() {
		if ev.Kind == revoke.EventSynced {
			synced = &ev
		}
	}
	if synced == nil || synced.Count != 1 || synced.Seq != 1 {
		t.Errorf("synced event %+v, want one revocation up to seq 1", synced)
	}
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	st := r.Stats()
	if st.SyncedSeq != 1 || st.SyncedAt.IsZero() || st.Lag <= 0 || st.Lag > time.Hour {
		t.Errorf("Stats: synced seq %d at %v, lag %v; want 1, set, at most an hour", st.SyncedSeq, st.SyncedAt, st.Lag)
	}
}

// TestStats: counters by result and reason, the index, the committer.
func TestStats(t *testing.T) {
	ctx := context.Background()
	for _, observed := range []bool{false, true} {
		t.Run(fmt.Sprint("observed=", observed), func(t *testing.T) {
			var opts []revoke.Option
			if observed {
				opts = append(opts, revoke.WithObserver(func(revoke.Event) {}))
			}
			r, err := revoke.New(memory.New(), opts...)
			mustDo(t, err)
			defer r.Close()
			mustDo(t, r.Issue(ctx, tok(revoke.Refresh, "r0", "app", "alice", "", time.Hour)))
			mustDo(t, r.Issue(ctx, tok(revoke.Access, "a0", "app", "", "r0", time.Hour)))
			mustDo(t, r.Issue(ctx, tok(revoke.Access, "a1", "app", "", "r0", time.Hour)))
			mustDo(t, r.Rotate(ctx, "r0", tok(revoke.Refresh, "r1", "app", "", "", time.Hour)))
			if _, err := r.Revoke(ctx, "a1", "app"); err != nil {
				t.Fatal(err)
			}
			if err := r.Rotate(ctx, "r0", tok(revoke.Refresh, "r2", "app", "", "", time.Hour)); !errors.Is(err, revoke.ErrReused) {
				t.Fatal(err)
			}
			for _, v := range []string{"r0", "a0", "nope", "a1", "other"} {
				if _, err := r.IsRevoked(ctx, v); err != nil {
					t.Fatal(err)
				}
			}
			st := r.Stats()
			wantChecks := [2]uint64{}
			if observed {
				wantChecks = [2]uint64{3, 2}
			}
			if got := [2]uint64{st.ChecksRevoked, st.ChecksLive}; got != wantChecks {
				t.Errorf("checks revoked, live = %v, want %v", got, wantChecks)
			}
			if st.Revoked[revoke.ReasonDirect] != 1 || st.Revoked[revoke.ReasonReuse] != 3 || st.ReuseDetected != 1 {
				t.Errorf("revoked by reason %v, reuses %d; want direct 1, reuse 3, 1 reuse", st.Revoked, st.ReuseDetected)
			}
			if st.IndexEntries != 4 {
				t.Errorf("index entries = %d, want 4", st.IndexEntries)
			}
			if st.Commits != 6 || st.AvgBatch != 1 {
				t.Errorf("commits %d, average batch %v; want 6 serial commits of 1", st.Commits, st.AvgBatch)
			}
			if st.Lag != 0 || st.SyncedAt.IsZero() {
				t.Errorf("lag %v, synced at %v: want no lag without a follower, and the load at New", st.Lag, st.SyncedAt)
			}
		})
	}
}

// TestIsRevokedObservedAllocs: counting checks allocates nothing.
func TestIsRevokedObservedAllocs(t *testing.T) {
	ctx := context.Background()
	r, err := revoke.New(memory.New(), revoke.WithObserver(func(revoke.Event) {}))
	mustDo(t, err)
	defer r.Close()
	mustDo(t, r.Issue(ctx, tok(revoke.Access, "a0", "app", "", "", time.Hour)))
	if _, err := r.Revoke(ctx, "a0", "app"); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"a0", "live"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = r.IsRevoked(ctx, v) }); n != 0 {
			t.Errorf("IsRevoked(%s) with an observer: %v allocs, want 0", v, n)
		}
	}
}

func TestLifecycleOptionsValidated(t *testing.T) {
	for _, c := range []struct {
		name string
		opt  revoke.Option
	}{
		{"NegativeGrace", revoke.WithRotation(revoke.RotationPolicy{ReuseGrace: -time.Second, GraceRetries: revoke.DefaultGraceRetries})},
		{"HugeGrace", revoke.WithRotation(revoke.RotationPolicy{ReuseGrace: revoke.MaxReuseGrace + 1, GraceRetries: revoke.DefaultGraceRetries})},
		{"ZeroRetries", revoke.WithRotation(revoke.RotationPolicy{GraceRetries: 0})},
		{"HugeRetries", revoke.WithRotation(revoke.RotationPolicy{GraceRetries: revoke.MaxGraceRetries + 1})},
		{"ZeroBatch", revoke.WithOwnerBatch(0)},
		{"HugeBatch", revoke.WithOwnerBatch(revoke.MaxOwnerBatch + 1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := memory.New()
			if r, err := revoke.New(s, c.opt); err == nil || !strings.HasPrefix(err.Error(), "revoke: New:") {
				if r != nil {
					r.Close()
				}
				t.Errorf("New = %v, want an error", err)
			}
		})
	}
	r, err := revoke.New(memory.New(), revoke.WithRotation(revoke.RotationPolicy{ReuseGrace: revoke.MaxReuseGrace, GraceRetries: revoke.MaxGraceRetries}), revoke.WithOwnerBatch(revoke.MaxOwnerBatch))
	mustDo(t, err)
	r.Close()
}

// repeatingStore lists every grant twice from Tx.GrantsOf, against the
// contract.
type repeatingStore struct{ revoke.Store }

type repeatingTx struct{ revoke.Tx }

func (s repeatingStore) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	return s.Store.Update(ctx, func(tx revoke.Tx) error { return fn(repeatingTx{tx}) })
}

func (t repeatingTx) GrantsOf(ctx context.Context, by revoke.Owner, key string, after revoke.ID, limit int) ([]revoke.ID, error) {
	grants, err := t.Tx.GrantsOf(ctx, by, key, revoke.ID{}, limit)
	var twice []revoke.ID
	for _, g := range grants {
		twice = append(twice, g, g)
	}
	return twice, err
}

// TestOwnerRefusesBrokenStore: a Store that repeats grants makes
// RevokeSubject fail instead of looping or counting twice.
func TestOwnerRefusesBrokenStore(t *testing.T) {
	ctx := context.Background()
	r, err := revoke.New(repeatingStore{memory.New()})
	mustDo(t, err)
	defer r.Close()
	mustDo(t, r.Issue(ctx, tok(revoke.Refresh, "r0", "app", "alice", "", time.Hour)))
	done := make(chan error, 1)
	go func() {
		_, err := r.RevokeSubject(ctx, "alice")
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "out of order") {
			t.Errorf("RevokeSubject over a store that repeats grants: %v, want an error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RevokeSubject over a store that repeats grants did not return")
	}
	if ok, _ := r.IsRevoked(ctx, "r0"); ok {
		t.Error("a failed RevokeSubject revoked a token")
	}
}
