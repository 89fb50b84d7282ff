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
	{"RotationChain", testRotationChain},
	{"RotateRefusals", testRotateRefusals},
	{"ReuseRevokesGrant", testReuseRevokesGrant},
	{"IssueUnderSpentParent", testIssueUnderSpentParent},
	{"GraceImmediateParentOnly", testGraceImmediateParentOnly},
	{"GraceWindow", testGraceWindow},
	{"GraceRetries", testGraceRetries},
	{"GraceWindowFromFirstRotation", testGraceWindowFixed},
	{"ConcurrentRotations", testConcurrentRotations},
	{"RotateRevokeRace", testRotateRevokeRace},
	{"SubjectInheritance", testSubjectInheritance},
	{"RevokeSubject", testRevokeSubject},
	{"RevokeClient", testRevokeClient},
	{"OwnerBatches", testOwnerBatches},
	{"OwnerBatchesRacingIssuer", testOwnerBatchesRacingIssuer},
	{"PurgeKeepsReuseDetection", testPurgeKeepsReuseDetection},
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

// wantReused checks that err wraps ErrReused and that next was not stored.
func (e *env) wantReused(what string, next string, err error) {
	e.t.Helper()
	if !errors.Is(err, revoke.ErrReused) {
		e.t.Errorf("%s: err = %v, want ErrReused", what, err)
	}
	if _, found := e.record(next); found {
		e.t.Errorf("%s: the refused token was stored", what)
	}
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

func testRotationChain(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	r0 := e.issue(revoke.Refresh, "c1", "", 24*time.Hour)
	a0 := e.issue(revoke.Access, "c1", r0, time.Hour)
	r1 := e.rotate(r0, "c1")
	r2 := e.rotate(r1, "c1")
	a2 := e.issue(revoke.Access, "c1", r2, time.Hour)
	for i, pair := range [][2]string{{r0, r1}, {r1, r2}} {
		rec, _ := e.record(pair[0])
		if rec.Successor != revoke.TokenID(pair[1]) || !rec.Spent() || rec.RotatedAt.IsZero() {
			t.Errorf("R[%d]: Successor %s, spent %v, rotated at %v; want its successor, spent, a rotation time", i, rec.Successor, rec.Spent(), rec.RotatedAt)
		}
		next, _ := e.record(pair[1])
		if next.Grant != revoke.TokenID(r0) || next.Parent != revoke.TokenID(pair[0]) || next.Subject != "alice" {
			t.Errorf("R[%d]: grant, parent or subject not inherited from the rotated token", i+1)
		}
	}
	if rec, _ := e.record(r2); rec.Spent() {
		t.Error("the newest refresh token is spent")
	}
	// Spent is not revoked.
	e.wantLive("spent and live tokens", r0, r1, r2, a0, a2)
	// A retry of the same rotation is not reuse.
	if err := e.r.Rotate(e.ctx, r1, revoke.Token{Value: r2, Kind: revoke.Refresh, ClientID: "c1", Subject: "alice", ExpiresAt: mustRecord(e, r2).ExpiresAt}); err != nil {
		t.Errorf("Rotate retried with the same tokens: %v", err)
	}
	e.wantLive("chain after a retried Rotate", r0, r1, r2)
	// The chain is one grant: revoking its root revokes the newest.
	e.revoke(r0, "c1", 5)
	e.wantRevoked("chain", r0, r1, r2, a0, a2)
}

func mustRecord(e *env, tok string) revoke.Record {
	e.t.Helper()
	rec, found := e.record(tok)
	if !found {
		e.t.Fatal("no record")
	}
	return rec
}

func testRotateRefusals(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	r0 := e.issue(revoke.Refresh, "c1", "", 24*time.Hour)
	a0 := e.issue(revoke.Access, "c1", r0, time.Hour)
	short := e.issue(revoke.Refresh, "c1", "", time.Hour)
	gone := e.issue(revoke.Refresh, "c1", "", 24*time.Hour)
	e.revoke(gone, "c1", 1)
	e.clock.Advance(time.Hour)
	cases := []struct {
		what, old, client string
		want              error
	}{
		{"unknown token", token(), "c1", revoke.ErrUnknownParent},
		{"expired token", short, "c1", revoke.ErrUnknownParent},
		{"revoked token", gone, "c1", revoke.ErrRevoked},
		{"another client's token", r0, "c2", revoke.ErrClientMismatch},
		{"access token", a0, "c1", revoke.ErrInvalidToken},
	}
	for _, c := range cases {
		next, err := e.tryRotate(c.old, c.client)
		if !errors.Is(err, c.want) {
			t.Errorf("Rotate of an %s: err = %v, want %v", c.what, err, c.want)
		}
		if _, found := e.record(next); found {
			t.Errorf("Rotate of an %s stored the new token", c.what)
		}
	}
	exp := e.clock.Now().Add(time.Hour)
	bad := []struct {
		field string
		tok   revoke.Token
	}{
		{"Kind", revoke.Token{Value: token(), Kind: revoke.Access, ClientID: "c1", ExpiresAt: exp}},
		{"Parent", revoke.Token{Value: token(), Kind: revoke.Refresh, ClientID: "c1", Parent: a0, ExpiresAt: exp}},
		{"Value", revoke.Token{Value: r0, Kind: revoke.Refresh, ClientID: "c1", ExpiresAt: exp}},
		{"ExpiresAt", revoke.Token{Value: token(), Kind: revoke.Refresh, ClientID: "c1"}},
	}
	for _, c := range bad {
		err := e.r.Rotate(e.ctx, r0, c.tok)
		var fe *revoke.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("Rotate with a bad %s: err = %v, want a *FieldError for it", c.field, err)
		}
	}
	// Another token already issued cannot be the successor.
	other := e.issue(revoke.Refresh, "c1", "", time.Hour)
	if err := e.r.Rotate(e.ctx, r0, revoke.Token{Value: other, Kind: revoke.Refresh, ClientID: "c1", ExpiresAt: exp}); !errors.Is(err, revoke.ErrAlreadyIssued) {
		t.Errorf("Rotate to a token issued before: err = %v, want ErrAlreadyIssued", err)
	}
	// None of that spent r0.
	if rec, _ := e.record(r0); rec.Spent() {
		t.Error("a refused Rotate spent the token")
	}
	e.rotate(r0, "c1")
}

func testReuseRevokesGrant(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	other := e.newGrant("c1", 2)
	r0 := e.issue(revoke.Refresh, "c1", "", 24*time.Hour)
	a0 := e.issue(revoke.Access, "c1", r0, time.Hour)
	r1 := e.rotate(r0, "c1")
	a1 := e.issue(revoke.Access, "c1", r1, time.Hour)
	r2 := e.rotate(r1, "c1")
	a2 := e.issue(revoke.Access, "c1", r2, time.Hour)
	e.clock.Advance(time.Nanosecond)
	next, err := e.tryRotate(r0, "c1") // the thief, or the client, presents r0 again
	e.wantReused("Rotate of a spent token", next, err)
	e.wantRevoked("grant after reuse, newest included", r0, r1, r2, a0, a1, a2)
	for i, tok := range []string{r0, r1, r2, a0, a1, a2} {
		if rec, _ := e.record(tok); !rec.Revoked() {
			t.Errorf("token %d: stored record not revoked after reuse", i)
		}
	}
	e.wantLive("another grant", other.all()...)
	// The newest token is dead too.
	if next, err := e.tryRotate(r2, "c1"); !errors.Is(err, revoke.ErrRevoked) {
		t.Errorf("Rotate of the newest token after reuse: err = %v, want ErrRevoked", err)
	} else if _, found := e.record(next); found {
		t.Error("Rotate after reuse stored a token")
	}
	if err := e.issueRefused("under the newest token after reuse", revoke.Access, "c1", r2); !errors.Is(err, revoke.ErrRevoked) {
		t.Errorf("Issue under the newest token after reuse: err = %v, want ErrRevoked", err)
	}
}

func testIssueUnderSpentParent(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	r0 := e.issue(revoke.Refresh, "c1", "", 24*time.Hour)
	a0 := e.issue(revoke.Access, "c1", r0, time.Hour)
	r1 := e.rotate(r0, "c1")
	// Retrying the Issue of a token minted before the rotation is no reuse.
	if err := e.r.Issue(e.ctx, revoke.Token{Value: a0, Kind: revoke.Access, ClientID: "c1", Subject: "alice", Parent: r0, ExpiresAt: mustRecord(e, a0).ExpiresAt}); err != nil {
		t.Errorf("Issue retried under a since rotated parent: %v", err)
	}
	e.wantLive("grant", r0, r1, a0)
	err := e.issueRefused("under a spent parent", revoke.Access, "c1", r0)
	if !errors.Is(err, revoke.ErrReused) {
		t.Errorf("Issue under a spent parent: err = %v, want ErrReused", err)
	}
	e.wantRevoked("grant after an Issue under a spent parent", r0, r1, a0)
}

func testGraceImmediateParentOnly(t *testing.T, open func(*testing.T) revoke.Store) {
	t.Run("Immediate", func(t *testing.T) {
		e := setup(t, open, revoke.WithReuseGrace(time.Minute))
		r0 := e.issue(revoke.Refresh, "c1", "", 24*time.Hour)
		r1 := e.rotate(r0, "c1")
		lost := e.rotate(r1, "c1") // its response is lost
		e.clock.Advance(10 * time.Second)
		r2 := e.rotate(r1, "c1") // the client retries with r1
		if rec, _ := e.record(r1); rec.Successor != revoke.TokenID(r2) || rec.Retries != 1 {
			t.Errorf("r1 after a grace retry: successor %s, retries %d; want the new token, 1", rec.Successor, rec.Retries)
		}
		if rec, _ := e.record(lost); !rec.Superseded || !rec.Spent() {
			t.Error("the superseded successor is not spent")
		}
		e.wantLive("grant after a grace retry", r0, r1, r2, lost)
		// The superseded token is spent without grace, even within the window.
		next, err := e.tryRotate(lost, "c1")
		e.wantReused("Rotate of the superseded successor within the window", next, err)
		e.wantRevoked("grant after the superseded token's reuse", r0, r1, r2, lost)
	})
	t.Run("OlderGeneration", func(t *testing.T) {
		e := setup(t, open, revoke.WithReuseGrace(time.Minute))
		r0 := e.issue(revoke.Refresh, "c1", "", 24*time.Hour)
		r1 := e.rotate(r0, "c1")
		r2 := e.rotate(r1, "c1")
		next, err := e.tryRotate(r0, "c1") // two generations back, within the window
		e.wantReused("Rotate of an older generation within the window", next, err)
		e.wantRevoked("grant", r0, r1, r2)
	})
}

func testGraceWindow(t *testing.T, open func(*testing.T) revoke.Store) {
	for _, c := range []struct {
		name    string
		after   time.Duration
		reused  bool
		options []revoke.Option
	}{
		{"Within", time.Minute - time.Nanosecond, false, []revoke.Option{revoke.WithReuseGrace(time.Minute)}},
		{"After", time.Minute, true, []revoke.Option{revoke.WithReuseGrace(time.Minute)}},
		{"Off", 0, true, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := setup(t, open, c.options...)
			r0 := e.issue(revoke.Refresh, "c1", "", 24*time.Hour)
			r1 := e.rotate(r0, "c1")
			e.clock.Advance(c.after)
			next, err := e.tryRotate(r0, "c1")
			if c.reused {
				e.wantReused("Rotate again", next, err)
				e.wantRevoked("grant", r0, r1)
				return
			}
			if err != nil {
				t.Fatalf("Rotate again within the window: %v", err)
			}
			e.wantLive("grant", r0, r1, next)
		})
	}
}

func testGraceRetries(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open, revoke.WithReuseGrace(time.Minute), revoke.WithGraceRetries(2))
	r0 := e.issue(revoke.Refresh, "c1", "", 24*time.Hour)
	toks := []string{r0, e.rotate(r0, "c1")}
	for i := range 2 {
		next, err := e.tryRotate(r0, "c1")
		if err != nil {
			t.Fatalf("grace retry %d: %v", i+1, err)
		}
		toks = append(toks, next)
	}
	next, err := e.tryRotate(r0, "c1")
	e.wantReused("a third grace retry", next, err)
	e.wantRevoked("grant", toks...)
}

// testGraceWindowFixed checks that the grace window is measured from the
// first rotation: grace retries do not slide it.
func testGraceWindowFixed(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open, revoke.WithReuseGrace(10*time.Second), revoke.WithGraceRetries(3))
	r0 := e.issue(revoke.Refresh, "c1", "", 24*time.Hour)
	toks := []string{r0, e.rotate(r0, "c1")}
	e.clock.Advance(9 * time.Second)
	next, err := e.tryRotate(r0, "c1")
	if err != nil {
		t.Fatalf("grace retry 9 s after the rotation: %v", err)
	}
	toks = append(toks, next)
	e.clock.Advance(9 * time.Second)
	next, err = e.tryRotate(r0, "c1")
	e.wantReused("a replay 18 s after the first rotation, past the 10 s window", next, err)
	e.wantRevoked("grant", toks...)
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

func testSubjectInheritance(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	r0 := e.issueAs(revoke.Refresh, "c1", "alice", "", 24*time.Hour)
	a0 := e.issueAs(revoke.Access, "c1", "", r0, time.Hour)
	if rec, _ := e.record(a0); rec.Subject != "alice" {
		t.Errorf("access token issued without a subject has subject %q, want the parent's", rec.Subject)
	}
	e.issueAs(revoke.Access, "c1", "alice", r0, time.Hour)
	v := token()
	err := e.r.Issue(e.ctx, revoke.Token{Value: v, Kind: revoke.Access, ClientID: "c1", Subject: "mallory", Parent: r0, ExpiresAt: e.clock.Now().Add(time.Hour)})
	var fe *revoke.FieldError
	if !errors.As(err, &fe) || fe.Field != "Subject" {
		t.Errorf("Issue with another subject than the parent's: err = %v, want a *FieldError for Subject", err)
	}
	if _, found := e.record(v); found {
		t.Error("Issue with another subject stored the token")
	}
	err = e.r.Rotate(e.ctx, r0, revoke.Token{Value: v, Kind: revoke.Refresh, ClientID: "c1", Subject: "mallory", ExpiresAt: e.clock.Now().Add(time.Hour)})
	if !errors.As(err, &fe) || fe.Field != "Subject" {
		t.Errorf("Rotate with another subject: err = %v, want a *FieldError for Subject", err)
	}
	if rec, _ := e.record(r0); rec.Spent() {
		t.Error("a Rotate refused for its subject spent the token")
	}
	r1 := e.rotate(r0, "c1")
	if rec, _ := e.record(r1); rec.Subject != "alice" {
		t.Errorf("rotated token has subject %q, want the grant's", rec.Subject)
	}
	// A subject-less grant stays subject-less, and refuses a subject.
	n0 := e.issueAs(revoke.Refresh, "c1", "", "", time.Hour)
	if rec, _ := e.record(e.issueAs(revoke.Access, "c1", "", n0, time.Hour)); rec.Subject != "" {
		t.Errorf("token under a subject-less parent has subject %q", rec.Subject)
	}
	v = token()
	err = e.r.Issue(e.ctx, revoke.Token{Value: v, Kind: revoke.Access, ClientID: "c1", Subject: "alice", Parent: n0, ExpiresAt: e.clock.Now().Add(time.Hour)})
	if !errors.As(err, &fe) || fe.Field != "Subject" {
		t.Errorf("Issue with a subject under a subject-less parent: err = %v, want a *FieldError for Subject", err)
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

func testRevokeClient(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	var c1, c2 owned
	e.logins(&c1, "c1", "alice", 2)
	e.logins(&c1, "c1", "bob", 2)
	e.logins(&c2, "c2", "alice", 2)
	anon := e.issueAs(revoke.Refresh, "c1", "", "", time.Hour)
	c1.tokens = append(c1.tokens, anon, e.issueAs(revoke.Access, "c1", "", anon, time.Hour))
	n, err := e.r.RevokeClient(e.ctx, "c1")
	if err != nil || n != len(c1.tokens) {
		t.Errorf("RevokeClient(c1) = (%d, %v), want (%d, nil)", n, err, len(c1.tokens))
	}
	e.wantRevoked("c1's tokens across subjects", c1.tokens...)
	e.wantLive("c2's tokens", c2.tokens...)
	var fe *revoke.FieldError
	if _, err := e.r.RevokeClient(e.ctx, ""); !errors.As(err, &fe) {
		t.Errorf("RevokeClient(\"\"): err = %v, want a *FieldError", err)
	}
}

func testOwnerBatches(t *testing.T, open func(*testing.T) revoke.Store) {
	for _, batch := range []int{1, 2, 3, 1000} {
		t.Run(fmt.Sprint(batch), func(t *testing.T) {
			e := setup(t, open, revoke.WithOwnerBatch(batch))
			var alice, bob owned
			e.logins(&alice, "c1", "alice", 3)
			e.logins(&alice, "c2", "alice", 3)
			e.logins(&bob, "c1", "bob", 2)
			n, err := e.r.RevokeSubject(e.ctx, "alice")
			if err != nil || n != len(alice.tokens) {
				t.Errorf("RevokeSubject(alice) in batches of %d = (%d, %v), want (%d, nil)", batch, n, err, len(alice.tokens))
			}
			e.wantRevoked("alice's tokens", alice.tokens...)
			e.wantLive("bob's tokens", bob.tokens...)
			n, err = e.r.RevokeClient(e.ctx, "c1")
			if err != nil || n != len(bob.tokens) {
				t.Errorf("RevokeClient(c1) in batches of %d = (%d, %v), want (%d, nil)", batch, n, err, len(bob.tokens))
			}
			e.wantRevoked("bob's tokens", bob.tokens...)
		})
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

// testPurgeKeepsReuseDetection: purging the expired members of a grant
// keeps the spent markers of its live ones, so reuse is detected for the
// whole life of the family.
func testPurgeKeepsReuseDetection(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open, revoke.WithPurgeGrace(0))
	r0 := e.issue(revoke.Refresh, "c1", "", time.Hour) // short-lived root
	a0 := e.issue(revoke.Access, "c1", r0, time.Hour)
	r1 := e.rotate(r0, "c1")
	r2 := e.rotate(r1, "c1")
	e.clock.Advance(time.Hour + time.Second)
	n, err := e.r.Purge(e.ctx)
	if err != nil || n != 2 {
		t.Fatalf("Purge = (%d, %v), want the 2 expired records", n, err)
	}
	if _, found := e.record(r0); found {
		t.Fatal("the expired root was not purged")
	}
	if _, found := e.record(a0); found {
		t.Fatal("the expired access token was not purged")
	}
	next, err := e.tryRotate(r1, "c1")
	e.wantReused("Rotate of a spent token whose grant's root was purged", next, err)
	e.wantRevoked("the live members", r1, r2)
}
