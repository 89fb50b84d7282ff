package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/internal/harness"
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
		r0 := e.Issue(revoke.Refresh, "c1", "", 24*time.Hour)
		a0 := e.Issue(revoke.Access, "c1", r0, time.Hour)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners []string
			start   = make(chan struct{})
		)
		for range racers {
			wg.Go(func() {
				<-start
				next, err := e.TryRotate(r0, "c1")
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
		e.WantRevoked(fmt.Sprintf("round %d: grant, winner included", round), r0, a0, winners[0])
	}
}

func testRotateRevokeRace(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	const rounds = 50
	for round := range rounds {
		r0 := e.Issue(revoke.Refresh, "c1", "", 24*time.Hour)
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
				next, err := e.TryRotate(cur, "c1")
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
			if _, err := e.R.Revoke(e.Ctx, r0, "c1"); err != nil {
				t.Errorf("round %d: Revoke: %v", round, err)
			}
		})
		close(start)
		wg.Wait()
		// The Revoke revoked the grant: whatever the Rotates made is
		// revoked, or was never committed.
		for i, tok := range made {
			if rec, found := e.Record(tok); found && !rec.Revoked() {
				t.Errorf("round %d: token %d of the grant is live after Revoke", round, i)
			}
		}
		e.WantRevoked(fmt.Sprintf("round %d: grant", round), made...)
	}
}

func testRevokeSubject(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	var alice, bob harness.Owned
	e.Logins(&alice, "c1", "alice", 2)
	e.Logins(&alice, "c2", "alice", 2)
	e.Logins(&bob, "c1", "bob", 2)
	e.Logins(&bob, "c2", "bob", 1)
	lone := e.IssueAs(revoke.Access, "c3", "alice", "", time.Hour) // a grant of its own
	alice.Tokens = append(alice.Tokens, lone)
	e.Revoke(alice.Tokens[2], "c1", 1) // one already revoked
	n, err := e.R.RevokeSubject(e.Ctx, "alice")
	if err != nil || n != len(alice.Tokens)-1 {
		t.Errorf("RevokeSubject(alice) = (%d, %v), want (%d, nil)", n, err, len(alice.Tokens)-1)
	}
	e.WantRevoked("alice's tokens across clients", alice.Tokens...)
	e.WantLive("bob's tokens", bob.Tokens...)
	if n, err := e.R.RevokeSubject(e.Ctx, "alice"); err != nil || n != 0 {
		t.Errorf("RevokeSubject(alice) again = (%d, %v), want (0, nil)", n, err)
	}
	if n, err := e.R.RevokeSubject(e.Ctx, "nobody"); err != nil || n != 0 {
		t.Errorf("RevokeSubject(nobody) = (%d, %v), want (0, nil)", n, err)
	}
	// Alice logs in again: the new grant is live.
	again := e.IssueAs(revoke.Refresh, "c1", "alice", "", time.Hour)
	e.WantLive("alice's new login", again)
	var fe *revoke.FieldError
	if _, err := e.R.RevokeSubject(e.Ctx, ""); !errors.As(err, &fe) {
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
	var alice harness.Owned
	e.Logins(&alice, "c1", "alice", grants/2)
	e.Logins(&alice, "c2", "alice", grants/2)
	var heads []string // the newest refresh token of each grant
	for i := 3; i < len(alice.Tokens); i += 5 {
		heads = append(heads, alice.Tokens[i])
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		raced   []string
		start   = make(chan struct{})
		stopped = make(chan struct{})
	)
	race := headIssuers{
		e: e, heads: heads, grants: grants, issuers: issuers, stopped: stopped,
		record: func(tok string) {
			mu.Lock()
			raced = append(raced, tok)
			mu.Unlock()
		},
	}
	for w := range issuers {
		wg.Go(func() {
			<-start
			race.run(t, w)
		})
	}
	close(start)
	n, err := e.R.RevokeSubject(e.Ctx, "alice")
	if err != nil {
		t.Fatalf("RevokeSubject: %v", err)
	}
	if n < len(alice.Tokens) {
		t.Errorf("RevokeSubject revoked %d tokens, fewer than the %d issued before it", n, len(alice.Tokens))
	}
	close(stopped)
	wg.Wait()
	e.WantRevoked("tokens issued before RevokeSubject", alice.Tokens...)
	e.WantRevoked("tokens issued under alice's grants during RevokeSubject", raced...)
	for i, tok := range raced {
		if rec, found := e.Record(tok); !found || !rec.Revoked() {
			t.Errorf("raced token %d: stored record not revoked", i)
		}
	}
}

// headIssuers is what testOwnerBatchesRacingIssuer's issuers share while
// they race RevokeSubject.
type headIssuers struct {
	e       *env
	heads   []string         // the newest refresh token of each grant
	grants  int              // the first grants/2 of heads are c1's, the rest c2's
	issuers int              // how many issuers split heads between them
	stopped <-chan struct{}  // closed once RevokeSubject has returned
	record  func(tok string) // called with every token issued or rotated in
}

// run is issuer w: until stopped is closed, it alone works on the grants
// w, w+issuers, ...: it mints access tokens under, and rotates, their
// newest refresh tokens, as their clients would. It stops at the first
// error other than ErrRevoked.
func (h *headIssuers) run(t *testing.T, w int) {
	cur := map[int]string{}
	for i := w; ; i += h.issuers {
		select {
		case <-h.stopped:
			return
		default:
		}
		g := i % len(h.heads)
		head, ok := cur[g]
		if !ok {
			head = h.heads[g]
		}
		v := harness.Token()
		err := h.issueOrRotate(head, v, h.client(g), i%2 == 1)
		switch {
		case err == nil:
			h.record(v)
			if i%2 == 1 {
				cur[g] = v
			}
		case errors.Is(err, revoke.ErrRevoked):
		default:
			t.Errorf("issuer %d: %v", w, err)
			return
		}
	}
}

// client is the client that grant g of heads was issued to.
func (h *headIssuers) client(g int) string {
	if g >= h.grants/2 {
		return "c2"
	}
	return "c1"
}

// issueOrRotate issues v as an access token under head or, when rotate is
// set, rotates head to the refresh token v.
func (h *headIssuers) issueOrRotate(head, v, client string, rotate bool) error {
	e := h.e
	if rotate {
		return e.R.Rotate(e.Ctx, head, revoke.Token{Value: v, Kind: revoke.Refresh, ClientID: client, ExpiresAt: e.Clock.Now().Add(time.Hour)})
	}
	return e.R.Issue(e.Ctx, revoke.Token{Value: v, Kind: revoke.Access, ClientID: client, Parent: head, ExpiresAt: e.Clock.Now().Add(time.Hour)})
}
