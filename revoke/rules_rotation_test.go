package revoke_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sdkauth/revocation/internal/harness"
	"github.com/sdkauth/revocation/revoke"
)

func testRotationChain(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	r0 := e.Issue(revoke.Refresh, "c1", "", 24*time.Hour)
	a0 := e.Issue(revoke.Access, "c1", r0, time.Hour)
	r1 := e.Rotate(r0, "c1")
	r2 := e.Rotate(r1, "c1")
	a2 := e.Issue(revoke.Access, "c1", r2, time.Hour)
	for i, pair := range [][2]string{{r0, r1}, {r1, r2}} {
		rec, _ := e.Record(pair[0])
		if rec.Successor != revoke.TokenID(pair[1]) || !rec.Spent() || rec.RotatedAt.IsZero() {
			t.Errorf("R[%d]: Successor %s, spent %v, rotated at %v; want its successor, spent, a rotation time", i, rec.Successor, rec.Spent(), rec.RotatedAt)
		}
		next, _ := e.Record(pair[1])
		if next.Grant != revoke.TokenID(r0) || next.Parent != revoke.TokenID(pair[0]) || next.Subject != "alice" {
			t.Errorf("R[%d]: grant, parent or subject not inherited from the rotated token", i+1)
		}
	}
	if rec, _ := e.Record(r2); rec.Spent() {
		t.Error("the newest refresh token is spent")
	}
	// Spent is not revoked.
	e.WantLive("spent and live tokens", r0, r1, r2, a0, a2)
	// A retry of the same rotation is not reuse.
	if err := e.R.Rotate(e.Ctx, r1, revoke.Token{Value: r2, Kind: revoke.Refresh, ClientID: "c1", Subject: "alice", ExpiresAt: harness.MustRecord(e.Env, r2).ExpiresAt}); err != nil {
		t.Errorf("Rotate retried with the same tokens: %v", err)
	}
	e.WantLive("chain after a retried Rotate", r0, r1, r2)
	// The chain is one grant: revoking its root revokes the newest.
	e.Revoke(r0, "c1", 5)
	e.WantRevoked("chain", r0, r1, r2, a0, a2)
}

func testRotateRefusals(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	r0 := e.Issue(revoke.Refresh, "c1", "", 24*time.Hour)
	a0 := e.Issue(revoke.Access, "c1", r0, time.Hour)
	short := e.Issue(revoke.Refresh, "c1", "", time.Hour)
	gone := e.Issue(revoke.Refresh, "c1", "", 24*time.Hour)
	e.Revoke(gone, "c1", 1)
	e.Clock.Advance(time.Hour)
	cases := []struct {
		what, old, client string
		want              error
	}{
		{"unknown token", harness.Token(), "c1", revoke.ErrUnknownParent},
		{"expired token", short, "c1", revoke.ErrUnknownParent},
		{"revoked token", gone, "c1", revoke.ErrRevoked},
		{"another client's token", r0, "c2", revoke.ErrClientMismatch},
		{"access token", a0, "c1", revoke.ErrInvalidToken},
	}
	for _, c := range cases {
		next, err := e.TryRotate(c.old, c.client)
		if !errors.Is(err, c.want) {
			t.Errorf("Rotate of an %s: err = %v, want %v", c.what, err, c.want)
		}
		if _, found := e.Record(next); found {
			t.Errorf("Rotate of an %s stored the new token", c.what)
		}
	}
	exp := e.Clock.Now().Add(time.Hour)
	bad := []struct {
		field string
		tok   revoke.Token
	}{
		{"Kind", revoke.Token{Value: harness.Token(), Kind: revoke.Access, ClientID: "c1", ExpiresAt: exp}},
		{"Parent", revoke.Token{Value: harness.Token(), Kind: revoke.Refresh, ClientID: "c1", Parent: a0, ExpiresAt: exp}},
		{"Value", revoke.Token{Value: r0, Kind: revoke.Refresh, ClientID: "c1", ExpiresAt: exp}},
		{"ExpiresAt", revoke.Token{Value: harness.Token(), Kind: revoke.Refresh, ClientID: "c1"}},
	}
	for _, c := range bad {
		err := e.R.Rotate(e.Ctx, r0, c.tok)
		var fe *revoke.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("Rotate with a bad %s: err = %v, want a *FieldError for it", c.field, err)
		}
	}
	// Another token already issued cannot be the successor.
	other := e.Issue(revoke.Refresh, "c1", "", time.Hour)
	if err := e.R.Rotate(e.Ctx, r0, revoke.Token{Value: other, Kind: revoke.Refresh, ClientID: "c1", ExpiresAt: exp}); !errors.Is(err, revoke.ErrAlreadyIssued) {
		t.Errorf("Rotate to a token issued before: err = %v, want ErrAlreadyIssued", err)
	}
	// None of that spent r0.
	if rec, _ := e.Record(r0); rec.Spent() {
		t.Error("a refused Rotate spent the token")
	}
	e.Rotate(r0, "c1")
}

func testReuseRevokesGrant(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	other := e.NewGrant("c1", 2)
	r0 := e.Issue(revoke.Refresh, "c1", "", 24*time.Hour)
	a0 := e.Issue(revoke.Access, "c1", r0, time.Hour)
	r1 := e.Rotate(r0, "c1")
	a1 := e.Issue(revoke.Access, "c1", r1, time.Hour)
	r2 := e.Rotate(r1, "c1")
	a2 := e.Issue(revoke.Access, "c1", r2, time.Hour)
	e.Clock.Advance(time.Nanosecond)
	next, err := e.TryRotate(r0, "c1") // the thief, or the client, presents r0 again
	e.WantReused("Rotate of a spent token", next, err)
	e.WantRevoked("grant after reuse, newest included", r0, r1, r2, a0, a1, a2)
	for i, tok := range []string{r0, r1, r2, a0, a1, a2} {
		if rec, _ := e.Record(tok); !rec.Revoked() {
			t.Errorf("token %d: stored record not revoked after reuse", i)
		}
	}
	e.WantLive("another grant", other.All()...)
	// The newest token is dead too.
	if next, err := e.TryRotate(r2, "c1"); !errors.Is(err, revoke.ErrRevoked) {
		t.Errorf("Rotate of the newest token after reuse: err = %v, want ErrRevoked", err)
	} else if _, found := e.Record(next); found {
		t.Error("Rotate after reuse stored a token")
	}
	if err := e.issueRefused("under the newest token after reuse", revoke.Access, "c1", r2); !errors.Is(err, revoke.ErrRevoked) {
		t.Errorf("Issue under the newest token after reuse: err = %v, want ErrRevoked", err)
	}
}

func testIssueUnderSpentParent(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	r0 := e.Issue(revoke.Refresh, "c1", "", 24*time.Hour)
	a0 := e.Issue(revoke.Access, "c1", r0, time.Hour)
	r1 := e.Rotate(r0, "c1")
	// Retrying the Issue of a token minted before the rotation is no reuse.
	if err := e.R.Issue(e.Ctx, revoke.Token{Value: a0, Kind: revoke.Access, ClientID: "c1", Subject: "alice", Parent: r0, ExpiresAt: harness.MustRecord(e.Env, a0).ExpiresAt}); err != nil {
		t.Errorf("Issue retried under a since rotated parent: %v", err)
	}
	e.WantLive("grant", r0, r1, a0)
	err := e.issueRefused("under a spent parent", revoke.Access, "c1", r0)
	if !errors.Is(err, revoke.ErrReused) {
		t.Errorf("Issue under a spent parent: err = %v, want ErrReused", err)
	}
	e.WantRevoked("grant after an Issue under a spent parent", r0, r1, a0)
}

func testGraceImmediateParentOnly(t *testing.T, open func(*testing.T) revoke.Store) {
	t.Run("Immediate", func(t *testing.T) {
		e := setup(t, open, revoke.WithRotation(revoke.RotationPolicy{ReuseGrace: time.Minute, GraceRetries: revoke.DefaultGraceRetries}))
		r0 := e.Issue(revoke.Refresh, "c1", "", 24*time.Hour)
		r1 := e.Rotate(r0, "c1")
		lost := e.Rotate(r1, "c1") // its response is lost
		e.Clock.Advance(10 * time.Second)
		r2 := e.Rotate(r1, "c1") // the client retries with r1
		if rec, _ := e.Record(r1); rec.Successor != revoke.TokenID(r2) || rec.Retries != 1 {
			t.Errorf("r1 after a grace retry: successor %s, retries %d; want the new token, 1", rec.Successor, rec.Retries)
		}
		if rec, _ := e.Record(lost); !rec.Superseded || !rec.Spent() {
			t.Error("the superseded successor is not spent")
		}
		e.WantLive("grant after a grace retry", r0, r1, r2, lost)
		// The superseded token is spent without grace, even within the window.
		next, err := e.TryRotate(lost, "c1")
		e.WantReused("Rotate of the superseded successor within the window", next, err)
		e.WantRevoked("grant after the superseded token's reuse", r0, r1, r2, lost)
	})
	t.Run("OlderGeneration", func(t *testing.T) {
		e := setup(t, open, revoke.WithRotation(revoke.RotationPolicy{ReuseGrace: time.Minute, GraceRetries: revoke.DefaultGraceRetries}))
		r0 := e.Issue(revoke.Refresh, "c1", "", 24*time.Hour)
		r1 := e.Rotate(r0, "c1")
		r2 := e.Rotate(r1, "c1")
		next, err := e.TryRotate(r0, "c1") // two generations back, within the window
		e.WantReused("Rotate of an older generation within the window", next, err)
		e.WantRevoked("grant", r0, r1, r2)
	})
}

func testGraceWindow(t *testing.T, open func(*testing.T) revoke.Store) {
	for _, c := range []struct {
		name    string
		after   time.Duration
		reused  bool
		options []revoke.Option
	}{
		{"Within", time.Minute - time.Nanosecond, false, []revoke.Option{revoke.WithRotation(revoke.RotationPolicy{ReuseGrace: time.Minute, GraceRetries: revoke.DefaultGraceRetries})}},
		{"After", time.Minute, true, []revoke.Option{revoke.WithRotation(revoke.RotationPolicy{ReuseGrace: time.Minute, GraceRetries: revoke.DefaultGraceRetries})}},
		{"Off", 0, true, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := setup(t, open, c.options...)
			r0 := e.Issue(revoke.Refresh, "c1", "", 24*time.Hour)
			r1 := e.Rotate(r0, "c1")
			e.Clock.Advance(c.after)
			next, err := e.TryRotate(r0, "c1")
			if c.reused {
				e.WantReused("Rotate again", next, err)
				e.WantRevoked("grant", r0, r1)
				return
			}
			if err != nil {
				t.Fatalf("Rotate again within the window: %v", err)
			}
			e.WantLive("grant", r0, r1, next)
		})
	}
}

func testGraceRetries(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open, revoke.WithRotation(revoke.RotationPolicy{ReuseGrace: time.Minute, GraceRetries: 2}))
	r0 := e.Issue(revoke.Refresh, "c1", "", 24*time.Hour)
	toks := []string{r0, e.Rotate(r0, "c1")}
	for i := range 2 {
		next, err := e.TryRotate(r0, "c1")
		if err != nil {
			t.Fatalf("grace retry %d: %v", i+1, err)
		}
		toks = append(toks, next)
	}
	next, err := e.TryRotate(r0, "c1")
	e.WantReused("a third grace retry", next, err)
	e.WantRevoked("grant", toks...)
}

// testGraceWindowFixed checks that the grace window is measured from the
// first rotation: grace retries do not slide it.
func testGraceWindowFixed(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open, revoke.WithRotation(revoke.RotationPolicy{ReuseGrace: 10 * time.Second, GraceRetries: 3}))
	r0 := e.Issue(revoke.Refresh, "c1", "", 24*time.Hour)
	toks := []string{r0, e.Rotate(r0, "c1")}
	e.Clock.Advance(9 * time.Second)
	next, err := e.TryRotate(r0, "c1")
	if err != nil {
		t.Fatalf("grace retry 9 s after the rotation: %v", err)
	}
	toks = append(toks, next)
	e.Clock.Advance(9 * time.Second)
	next, err = e.TryRotate(r0, "c1")
	e.WantReused("a replay 18 s after the first rotation, past the 10 s window", next, err)
	e.WantRevoked("grant", toks...)
}

func testSubjectInheritance(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	r0 := e.IssueAs(revoke.Refresh, "c1", "alice", "", 24*time.Hour)
	a0 := e.IssueAs(revoke.Access, "c1", "", r0, time.Hour)
	if rec, _ := e.Record(a0); rec.Subject != "alice" {
		t.Errorf("access token issued without a subject has subject %q, want the parent's", rec.Subject)
	}
	e.IssueAs(revoke.Access, "c1", "alice", r0, time.Hour)
	v := harness.Token()
	err := e.R.Issue(e.Ctx, revoke.Token{Value: v, Kind: revoke.Access, ClientID: "c1", Subject: "mallory", Parent: r0, ExpiresAt: e.Clock.Now().Add(time.Hour)})
	var fe *revoke.FieldError
	if !errors.As(err, &fe) || fe.Field != "Subject" {
		t.Errorf("Issue with another subject than the parent's: err = %v, want a *FieldError for Subject", err)
	}
	if _, found := e.Record(v); found {
		t.Error("Issue with another subject stored the token")
	}
	err = e.R.Rotate(e.Ctx, r0, revoke.Token{Value: v, Kind: revoke.Refresh, ClientID: "c1", Subject: "mallory", ExpiresAt: e.Clock.Now().Add(time.Hour)})
	if !errors.As(err, &fe) || fe.Field != "Subject" {
		t.Errorf("Rotate with another subject: err = %v, want a *FieldError for Subject", err)
	}
	if rec, _ := e.Record(r0); rec.Spent() {
		t.Error("a Rotate refused for its subject spent the token")
	}
	r1 := e.Rotate(r0, "c1")
	if rec, _ := e.Record(r1); rec.Subject != "alice" {
		t.Errorf("rotated token has subject %q, want the grant's", rec.Subject)
	}
	// A subject-less grant stays subject-less, and refuses a subject.
	n0 := e.IssueAs(revoke.Refresh, "c1", "", "", time.Hour)
	if rec, _ := e.Record(e.IssueAs(revoke.Access, "c1", "", n0, time.Hour)); rec.Subject != "" {
		t.Errorf("token under a subject-less parent has subject %q", rec.Subject)
	}
	v = harness.Token()
	err = e.R.Issue(e.Ctx, revoke.Token{Value: v, Kind: revoke.Access, ClientID: "c1", Subject: "alice", Parent: n0, ExpiresAt: e.Clock.Now().Add(time.Hour)})
	if !errors.As(err, &fe) || fe.Field != "Subject" {
		t.Errorf("Issue with a subject under a subject-less parent: err = %v, want a *FieldError for Subject", err)
	}
}

func testRevokeClient(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	var c1, c2 harness.Owned
	e.Logins(&c1, "c1", "alice", 2)
	e.Logins(&c1, "c1", "bob", 2)
	e.Logins(&c2, "c2", "alice", 2)
	anon := e.IssueAs(revoke.Refresh, "c1", "", "", time.Hour)
	c1.Tokens = append(c1.Tokens, anon, e.IssueAs(revoke.Access, "c1", "", anon, time.Hour))
	n, err := e.R.RevokeClient(e.Ctx, "c1")
	if err != nil || n != len(c1.Tokens) {
		t.Errorf("RevokeClient(c1) = (%d, %v), want (%d, nil)", n, err, len(c1.Tokens))
	}
	e.WantRevoked("c1's tokens across subjects", c1.Tokens...)
	e.WantLive("c2's tokens", c2.Tokens...)
	var fe *revoke.FieldError
	if _, err := e.R.RevokeClient(e.Ctx, ""); !errors.As(err, &fe) {
		t.Errorf("RevokeClient(\"\"): err = %v, want a *FieldError", err)
	}
}

func testOwnerBatches(t *testing.T, open func(*testing.T) revoke.Store) {
	for _, batch := range []int{1, 2, 3, 1000} {
		t.Run(fmt.Sprint(batch), func(t *testing.T) {
			e := setup(t, open, revoke.WithOwnerBatch(batch))
			var alice, bob harness.Owned
			e.Logins(&alice, "c1", "alice", 3)
			e.Logins(&alice, "c2", "alice", 3)
			e.Logins(&bob, "c1", "bob", 2)
			n, err := e.R.RevokeSubject(e.Ctx, "alice")
			if err != nil || n != len(alice.Tokens) {
				t.Errorf("RevokeSubject(alice) in batches of %d = (%d, %v), want (%d, nil)", batch, n, err, len(alice.Tokens))
			}
			e.WantRevoked("alice's tokens", alice.Tokens...)
			e.WantLive("bob's tokens", bob.Tokens...)
			n, err = e.R.RevokeClient(e.Ctx, "c1")
			if err != nil || n != len(bob.Tokens) {
				t.Errorf("RevokeClient(c1) in batches of %d = (%d, %v), want (%d, nil)", batch, n, err, len(bob.Tokens))
			}
			e.WantRevoked("bob's tokens", bob.Tokens...)
		})
	}
}

// testPurgeKeepsReuseDetection: purging the expired members of a grant
// keeps the spent markers of its live ones, so reuse is detected for the
// whole life of the family.
func testPurgeKeepsReuseDetection(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open, revoke.WithPurge(revoke.PurgePolicy{Grace: 0, Batch: revoke.DefaultPurgeBatch}))
	r0 := e.Issue(revoke.Refresh, "c1", "", time.Hour) // short-lived root
	a0 := e.Issue(revoke.Access, "c1", r0, time.Hour)
	r1 := e.Rotate(r0, "c1")
	r2 := e.Rotate(r1, "c1")
	e.Clock.Advance(time.Hour + time.Second)
	n, err := e.R.Purge(e.Ctx)
	if err != nil || n != 2 {
		t.Fatalf("Purge = (%d, %v), want the 2 expired records", n, err)
	}
	if _, found := e.Record(r0); found {
		t.Fatal("the expired root was not purged")
	}
	if _, found := e.Record(a0); found {
		t.Fatal("the expired access token was not purged")
	}
	next, err := e.TryRotate(r1, "c1")
	e.WantReused("Rotate of a spent token whose grant's root was purged", next, err)
	e.WantRevoked("the live members", r1, r2)
}
