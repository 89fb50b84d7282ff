package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// lifecycleTests are the subtests of rotation, reuse detection and owner
// revocation (RevokeSubject, RevokeClient), and of the Store's rotation
// state and owner index that they rest on.
var lifecycleTests = []struct {
	name string
	fn   func(*testing.T, func(*testing.T) revoke.Store)
}{
	{"RotationStateRoundTrip", testRotationStateRoundTrip},
	{"ConcurrentRotations", testConcurrentRotations},
	{"RotateRevokeRace", testRotateRevokeRace},
	{"RevokeSubject", testRevokeSubject},
	{"OwnerBatchesRacingIssuer", testOwnerBatchesRacingIssuer},
}

// issueAs issues a token with a subject and fails the test on error.
func (e *env) issueAs(kind revoke.Kind, client, subject, parent string, ttl time.Duration) string {
	e.t.Helper()
	v := token()
	err := e.r.Issue(e.ctx, revoke.Token{
		Value: v, Kind: kind, ClientID: client, Subject: subject,
		Parent: parent, ExpiresAt: e.clock.Now().Add(ttl),
	})
	if err != nil {
		e.t.Fatalf("Issue(%v, client %q, subject %q): %v", kind, client, subject, err)
	}
	return v
}

// tryRotate rotates old to a fresh refresh token of client and returns it
// with Rotate's error.
func (e *env) tryRotate(old, client string) (string, error) {
	e.t.Helper()
	v := token()
	return v, e.r.Rotate(e.ctx, old, revoke.Token{Value: v, Kind: revoke.Refresh, ClientID: client, ExpiresAt: e.clock.Now().Add(24 * time.Hour)})
}

// rotate rotates old and fails the test on error.
func (e *env) rotate(old, client string) string {
	e.t.Helper()
	v, err := e.tryRotate(old, client)
	if err != nil {
		e.t.Fatalf("Rotate: %v", err)
	}
	return v
}

// testRotationStateRoundTrip: every field of a record, rotation state
// included, reads back as it was Put.
func testRotationStateRoundTrip(t *testing.T, open func(*testing.T) revoke.Store) {
	s := open(t)
	defer s.Close()
	ctx := t.Context()
	at := time.Date(2030, 1, 2, 3, 4, 5, 678901234, time.UTC)
	recs := []revoke.Record{
		{ID: revoke.TokenID("r0"), Check: 7, Kind: revoke.Refresh, ClientID: "c1", Subject: "alice",
			Grant: revoke.TokenID("r0"), ExpiresAt: at, Successor: revoke.TokenID("r1"), RotatedAt: at.Add(-time.Hour), Retries: 3},
		{ID: revoke.TokenID("r1"), Check: 8, Kind: revoke.Refresh, ClientID: "c1", Subject: "alice",
			Parent: revoke.TokenID("r0"), Grant: revoke.TokenID("r0"), ExpiresAt: at, Superseded: true},
		{ID: revoke.TokenID("r2"), Check: 9, Kind: revoke.Refresh, ClientID: "c1", Subject: "alice",
			Parent: revoke.TokenID("r0"), Grant: revoke.TokenID("r0"), ExpiresAt: at, Seq: 5,
			Successor: revoke.TokenID("r3"), RotatedAt: at.Add(-time.Minute), Superseded: true, Retries: 1},
	}
	err := s.Update(ctx, func(tx revoke.Tx) error {
		for _, rec := range recs {
			if err := tx.Put(ctx, []revoke.Record{rec}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	err = s.View(ctx, func(tx revoke.Tx) error {
		for i, want := range recs {
			got, found, err := getOne(ctx, tx, want.ID)
			if err != nil {
				return err
			}
			if !found || !recordsEqual(got, want) {
				t.Errorf("record %d: Get = (%+v, %v), want %+v", i, got, found, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
}

// recordsEqual compares records field by field, rotation state included,
// times by instant.
func recordsEqual(a, b revoke.Record) bool {
	return a.ID == b.ID && a.Check == b.Check && a.Kind == b.Kind && a.ClientID == b.ClientID &&
		a.Subject == b.Subject && a.Parent == b.Parent && a.Grant == b.Grant && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.Seq == b.Seq && a.Successor == b.Successor && a.RotatedAt.Equal(b.RotatedAt) &&
		a.Retries == b.Retries && a.Superseded == b.Superseded && a.Status == b.Status
}

func testConcurrentRotations(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	const rounds, racers = 20, 8
	for round := range rounds {
		r0 := e.issue(revoke.Refresh, "c1", "", 24*time.Hour)
		a0 := e.issue(revoke.Access, "c1", r0, time.Hour)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []string
			start   = make(chan struct{})
		)
		for range racers {
			wg.Go(func() {
				<-start
				next, err := e.tryRotate(r0, "c1")
				switch {
				case err == nil:
					mu.Lock()
					winners = append(winners, next)
					mu.Unlock()
				case errors.Is(err, revoke.ErrReused), errors.Is(err, revoke.ErrRevoked):
				default:
					t.Errorf("round %d: Rotate: %v", round, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("round %d: %d concurrent Rotates of one token returned nil, want exactly 1", round, len(winners))
		}
		e.wantRevoked(fmt.Sprintf("round %d: grant, winner included", round), r0, a0, winners[0])
	}
}

func testRotateRevokeRace(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	const rounds = 50
	for round := range rounds {
		r0 := e.issue(revoke.Refresh, "c1", "", 24*time.Hour)
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			made  = []string{r0}
			start = make(chan struct{})
		)
		wg.Go(func() { // the client rotating
			<-start
			cur := r0
			for range 5 {
				next, err := e.tryRotate(cur, "c1")
				if err != nil {
					if !errors.Is(err, revoke.ErrRevoked) {
						t.Errorf("round %d: Rotate: %v", round, err)
					}
					return
				}
				mu.Lock()
				made = append(made, next)
				mu.Unlock()
				cur = next
			}
		})
		wg.Go(func() {
			<-start
			if _, err := e.r.Revoke(e.ctx, r0, "c1"); err != nil {
				t.Errorf("round %d: Revoke: %v", round, err)
			}
		})
		close(start)
		wg.Wait()
		// The Revoke revoked the grant: whatever the Rotates made is
		// revoked, or was never committed.
		for i, tok := range made {
			if rec, found := e.record(tok); found && !rec.Revoked() {
				t.Errorf("round %d: token %d of the grant is live after Revoke", round, i)
			}
		}
		e.wantRevoked(fmt.Sprintf("round %d: grant", round), made...)
	}
}

// owned is the tokens of one subject's grants.
type owned struct {
	tokens []string
	grants int
}

// logins issues n grants for subject at client, each rotated twice with an
// access token per refresh token.
func (e *env) logins(o *owned, client, subject string, n int) {
	e.t.Helper()
	for range n {
		r0 := e.issueAs(revoke.Refresh, client, subject, "", 24*time.Hour)
		r1 := e.rotate(r0, client)
		a1 := e.issueAs(revoke.Access, client, "", r1, time.Hour)
		r2 := e.rotate(r1, client)
		a2 := e.issueAs(revoke.Access, client, "", r2, time.Hour)
		o.tokens = append(o.tokens, r0, r1, a1, r2, a2)
		o.grants++
	}
}

func testRevokeSubject(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	var alice, bob owned
	e.logins(&alice, "c1", "alice", 2)
	e.logins(&alice, "c2", "alice", 2)
	e.logins(&bob, "c1", "bob", 2)
	e.logins(&bob, "c2", "bob", 1)
	lone := e.issueAs(revoke.Access, "c3", "alice", "", time.Hour) // a grant of its own
	alice.tokens = append(alice.tokens, lone)
	e.revoke(alice.tokens[2], "c1", 1) // one already revoked
	n, err := e.r.RevokeSubject(e.ctx, "alice")
	if err != nil || n != len(alice.tokens)-1 {
		t.Errorf("RevokeSubject(alice) = (%d, %v), want (%d, nil)", n, err, len(alice.tokens)-1)
	}
	e.wantRevoked("alice's tokens across clients", alice.tokens...)
	e.wantLive("bob's tokens", bob.tokens...)
	if n, err := e.r.RevokeSubject(e.ctx, "alice"); err != nil || n != 0 {
		t.Errorf("RevokeSubject(alice) again = (%d, %v), want (0, nil)", n, err)
	}
	if n, err := e.r.RevokeSubject(e.ctx, "nobody"); err != nil || n != 0 {
		t.Errorf("RevokeSubject(nobody) = (%d, %v), want (0, nil)", n, err)
	}
	// Alice logs in again: the new grant is live.
	again := e.issueAs(revoke.Refresh, "c1", "alice", "", time.Hour)
	e.wantLive("alice's new login", again)
	var fe *revoke.FieldError
	if _, err := e.r.RevokeSubject(e.ctx, ""); !errors.As(err, &fe) {
		t.Errorf("RevokeSubject(\"\"): err = %v, want a *FieldError", err)
	}
}

// testOwnerBatchesRacingIssuer: while RevokeSubject works through alice's
// grants one per transaction, issuers keep minting and rotating under her
// existing tokens. Every token issued before the call started is revoked
// when it returns, and every Issue or Rotate under her tokens that
// succeeded is revoked too.
func testOwnerBatchesRacingIssuer(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open, revoke.WithOwnerBatch(1))
	const grants, issuers = 12, 4
	var alice owned
	e.logins(&alice, "c1", "alice", grants/2)
	e.logins(&alice, "c2", "alice", grants/2)
	var heads []string // the newest refresh token of each grant
	for i := 3; i < len(alice.tokens); i += 5 {
		heads = append(heads, alice.tokens[i])
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		raced   []string
		start   = make(chan struct{})
		stopped = make(chan struct{})
	)
	for w := range issuers {
		wg.Go(func() {
			<-start
			// Worker w alone works on the grants w, w+issuers, ...: it
			// mints access tokens under, and rotates, their newest
			// refresh tokens, as their clients would.
			cur := map[int]string{}
			for i := w; ; i += issuers {
				select {
				case <-stopped:
					return
				default:
				}
				g := i % len(heads)
				head, ok := cur[g]
				if !ok {
					head = heads[g]
				}
				client := "c1"
				if g >= grants/2 {
					client = "c2"
				}
				v := token()
				var err error
				if i%2 == 0 {
					err = e.r.Issue(e.ctx, revoke.Token{Value: v, Kind: revoke.Access, ClientID: client, Parent: head, ExpiresAt: e.clock.Now().Add(time.Hour)})
				} else {
					err = e.r.Rotate(e.ctx, head, revoke.Token{Value: v, Kind: revoke.Refresh, ClientID: client, ExpiresAt: e.clock.Now().Add(time.Hour)})
				}
				switch {
				case err == nil:
					mu.Lock()
					raced = append(raced, v)
					mu.Unlock()
					if i%2 == 1 {
						cur[g] = v
					}
				case errors.Is(err, revoke.ErrRevoked):
				default:
					t.Errorf("issuer %d: %v", w, err)
					return
				}
			}
		})
	}
	close(start)
	n, err := e.r.RevokeSubject(e.ctx, "alice")
	if err != nil {
		t.Fatalf("RevokeSubject: %v", err)
	}
	if n < len(alice.tokens) {
		t.Errorf("RevokeSubject revoked %d tokens, fewer than the %d issued before it", n, len(alice.tokens))
	}
	close(stopped)
	wg.Wait()
	e.wantRevoked("tokens issued before RevokeSubject", alice.tokens...)
	e.wantRevoked("tokens issued under alice's grants during RevokeSubject", raced...)
	for i, tok := range raced {
		if rec, found := e.record(tok); !found || !rec.Revoked() {
			t.Errorf("raced token %d: stored record not revoked", i)
		}
	}
}
