package revoke_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/internal/harness"
	"github.com/sdkauth/revocation/revoke"
)

func testIssueValidatesInput(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	parent := e.Issue(revoke.Refresh, "c1", "", time.Hour)
	access := e.Issue(revoke.Access, "c1", parent, time.Hour)
	now := e.Clock.Now()
	v := harness.Token()
	valid := revoke.Token{Value: v, Kind: revoke.Access, ClientID: "c1", ExpiresAt: now.Add(time.Hour)}
	cases := []struct {
		field string
		edit  func(*revoke.Token)
	}{
		{"Value", func(t *revoke.Token) { t.Value = "" }},
		{"Kind", func(t *revoke.Token) { t.Kind = 0 }},
		{"Kind", func(t *revoke.Token) { t.Kind = 3 }},
		{"ClientID", func(t *revoke.Token) { t.ClientID = "" }},
		{"ExpiresAt", func(t *revoke.Token) { t.ExpiresAt = time.Time{} }},
		{"ExpiresAt", func(t *revoke.Token) { t.ExpiresAt = now }},
		{"ExpiresAt", func(t *revoke.Token) { t.ExpiresAt = now.Add(-time.Second) }},
		{"Parent", func(t *revoke.Token) { t.Parent = t.Value }},
		{"Parent", func(t *revoke.Token) { t.Parent = access }},
		// One length limit, the same on every backend (revoke.Max*Length).
		{"Value", func(t *revoke.Token) { t.Value = strings.Repeat("v", revoke.MaxTokenLength+1) }},
		{"Parent", func(t *revoke.Token) { t.Parent = strings.Repeat("p", revoke.MaxTokenLength+1) }},
		{"ClientID", func(t *revoke.Token) { t.ClientID = strings.Repeat("c", revoke.MaxClientIDLength+1) }},
		{"Subject", func(t *revoke.Token) { t.Subject = strings.Repeat("s", revoke.MaxSubjectLength+1) }},
		// 64 KiB: more than a bbolt key or value holds.
		{"ClientID", func(t *revoke.Token) { t.ClientID = strings.Repeat("c", 64<<10+1) }},
		// Text every backend stores as it is: valid UTF-8 without NUL.
		{"ClientID", func(t *revoke.Token) { t.ClientID = "nul\x00byte" }},
		{"ClientID", func(t *revoke.Token) { t.ClientID = "latin1-\xe9" }},
		{"Subject", func(t *revoke.Token) { t.Subject = "nul\x00byte" }},
		{"Subject", func(t *revoke.Token) { t.Subject = "latin1-\xe9" }},
	}
	for _, c := range cases {
		tok := valid
		c.edit(&tok)
		err := e.R.Issue(e.Ctx, tok)
		var fe *revoke.FieldError
		if !errors.Is(err, revoke.ErrInvalidToken) || !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("Issue with bad %s: err = %v, want a *FieldError for %s wrapping ErrInvalidToken", c.field, err, c.field)
		}
	}
	// Nothing was stored: the value is still free for any attributes.
	if _, found := e.Record(v); found {
		t.Fatal("a rejected Issue stored a record")
	}
	other := valid
	other.ClientID, other.Kind = "c2", revoke.Refresh
	if err := e.R.Issue(e.Ctx, other); err != nil {
		t.Fatalf("Issue after rejected Issues: %v", err)
	}
	// Input at the limits is accepted by every backend.
	longest := revoke.Token{
		Value: strings.Repeat("v", revoke.MaxTokenLength), Kind: revoke.Refresh,
		ClientID: strings.Repeat("c", revoke.MaxClientIDLength), Subject: strings.Repeat("s", revoke.MaxSubjectLength),
		ExpiresAt: now.Add(time.Hour),
	}
	if err := e.R.Issue(e.Ctx, longest); err != nil {
		t.Fatalf("Issue at the length limits: %v", err)
	}
	if n, err := e.R.Revoke(e.Ctx, longest.Value, longest.ClientID); err != nil || n != 1 {
		t.Fatalf("Revoke at the length limits = (%d, %v), want (1, nil)", n, err)
	}
	e.WantRevoked("token at the length limits", longest.Value)
}

func testIssueIsIdempotent(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	rt := e.Issue(revoke.Refresh, "c1", "", time.Hour)
	tok := revoke.Token{Value: harness.Token(), Kind: revoke.Access, ClientID: "c1", Parent: rt, ExpiresAt: e.Clock.Now().Add(time.Hour)}
	for i := range 2 {
		if err := e.R.Issue(e.Ctx, tok); err != nil {
			t.Fatalf("Issue #%d of the same token: %v", i+1, err)
		}
	}
	changed := tok
	changed.ExpiresAt = changed.ExpiresAt.Add(time.Minute)
	if err := e.R.Issue(e.Ctx, changed); !errors.Is(err, revoke.ErrAlreadyIssued) {
		t.Errorf("Issue with another expiry: err = %v, want ErrAlreadyIssued", err)
	}
	changed = tok
	changed.Parent = ""
	if err := e.R.Issue(e.Ctx, changed); !errors.Is(err, revoke.ErrAlreadyIssued) {
		t.Errorf("Issue without the parent: err = %v, want ErrAlreadyIssued", err)
	}
	e.Revoke(tok.Value, "c1", 1)
	if err := e.R.Issue(e.Ctx, tok); !errors.Is(err, revoke.ErrRevoked) {
		t.Errorf("Issue of a revoked token: err = %v, want ErrRevoked", err)
	}
	e.WantRevoked("re-issued revoked token", tok.Value)
}

func testRevokeAccessTokenAlone(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	g := e.NewGrant("c1", 2)
	extra := e.Issue(revoke.Access, "c1", g.R[1], time.Hour)
	e.Revoke(g.A[1], "c1", 1)
	e.WantRevoked("revoked access", g.A[1])
	e.WantLive("refresh", g.R...)
	e.WantLive("other access", g.A[0], extra)
}

func testGrantsAreIsolated(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	g1 := e.NewGrant("c1", 2)
	g2 := e.NewGrant("c1", 2)
	g3 := e.NewGrant("c2", 2)
	e.Revoke(g1.R[0], "c1", 4)
	e.WantRevoked("revoked grant", g1.All()...)
	e.WantLive("same client's other grant", g2.All()...)
	e.WantLive("other client's grant", g3.All()...)
}

func testClientMismatch(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	g := e.NewGrant("c1", 2)
	for _, tok := range []string{g.R[0], g.A[1]} {
		if n, err := e.R.Revoke(e.Ctx, tok, "c2"); !errors.Is(err, revoke.ErrClientMismatch) || n != 0 {
			t.Errorf("Revoke by another client = (%d, %v), want (0, ErrClientMismatch)", n, err)
		}
	}
	e.WantLive("grant after a foreign Revoke", g.All()...)
	e.Revoke(g.A[1], "c1", 1)
	if n, err := e.R.Revoke(e.Ctx, g.A[1], "c2"); !errors.Is(err, revoke.ErrClientMismatch) || n != 0 {
		t.Errorf("Revoke of a revoked token by another client = (%d, %v), want (0, ErrClientMismatch)", n, err)
	}
}

func testRevokeIsIdempotent(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	g := e.NewGrant("c1", 2)
	e.Revoke(g.A[0], "c1", 1)
	e.Revoke(g.A[0], "c1", 0)
	e.Revoke(g.R[1], "c1", 3) // the grant less the access token already revoked
	e.Revoke(g.R[1], "c1", 0)
	e.Revoke(g.R[0], "c1", 0)
	e.Revoke(g.A[1], "c1", 0)
	e.WantRevoked("grant", g.All()...)
}

func testUnknownToken(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	g := e.NewGrant("c1", 1)
	unknown := harness.Token()
	e.Revoke(unknown, "c1", 0)
	e.WantLive("never issued", unknown)
	e.WantLive("grant", g.All()...)
	if _, found := e.Record(unknown); found {
		t.Error("Revoke of an unknown token stored a record")
	}
}

// testExpiredToken checks that revocation never depends on the Revoker's
// clock: a token it holds expired may be valid by another server's clock,
// so Revoke and RevokeSubject revoke it all the same.
func testExpiredToken(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	rt := e.Issue(revoke.Refresh, "c1", "", 2*time.Hour)
	at := e.Issue(revoke.Access, "c1", rt, time.Hour)
	// Expired by this Revoker's clock, but another server's clock may
	// disagree: a revocation is never dropped on one clock's word.
	e.Clock.Advance(time.Hour)
	e.Revoke(at, "c1", 1)
	if rec, _ := e.Record(at); !rec.Revoked() {
		t.Error("Revoke of a token this clock holds expired left its record live")
	}
	e.Clock.Advance(time.Hour)
	e.Revoke(rt, "c1", 1)
	if rec, _ := e.Record(rt); !rec.Revoked() {
		t.Error("Revoke of a refresh token this clock holds expired left its record live")
	}
	// Likewise RevokeSubject ("alice" is the harness's subject).
	r2 := e.Issue(revoke.Refresh, "c1", "", time.Hour)
	e.Clock.Advance(2 * time.Hour)
	if n, err := e.R.RevokeSubject(e.Ctx, "alice"); err != nil || n != 1 {
		t.Errorf("RevokeSubject of a grant this clock holds expired = (%d, %v), want (1, nil)", n, err)
	}
	if rec, _ := e.Record(r2); !rec.Revoked() {
		t.Error("RevokeSubject left a token this clock holds expired live")
	}
}

func testRevokeValidatesInput(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	at := e.Issue(revoke.Access, "c1", "", time.Hour)
	for _, c := range []struct{ tok, client, field string }{
		{"", "c1", "token"}, {at, "", "clientID"},
		{strings.Repeat("t", revoke.MaxTokenLength+1), "c1", "token"},
		{at, strings.Repeat("c", revoke.MaxClientIDLength+1), "clientID"},
	} {
		n, err := e.R.Revoke(e.Ctx, c.tok, c.client)
		var fe *revoke.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, revoke.ErrInvalidToken) || n != 0 {
			t.Errorf("Revoke(%q, %q) = (%d, %v), want a *FieldError for %s", c.tok, c.client, n, err, c.field)
		}
	}
	if _, err := e.R.IsRevoked(e.Ctx, ""); !errors.Is(err, revoke.ErrInvalidToken) {
		t.Errorf("IsRevoked(\"\"): err = %v, want ErrInvalidToken", err)
	}
	e.WantLive("access", at)
}

func testIssueUnderRevokedParent(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	g := e.NewGrant("c1", 2)
	e.Revoke(g.R[0], "c1", 4)
	for i, parent := range g.R {
		for _, kind := range []revoke.Kind{revoke.Access, revoke.Refresh} {
			what := fmt.Sprintf("%v under revoked R[%d]", kind, i)
			if err := e.issueRefused(what, kind, "c1", parent); !errors.Is(err, revoke.ErrRevoked) {
				t.Errorf("Issue %s: err = %v, want ErrRevoked", what, err)
			}
		}
	}
}

// issueRefused issues a fresh token of kind for client under parent,
// expecting Issue to refuse it: it fails the test if a record was stored
// anyway, and returns Issue's error for the caller to check.
func (e *env) issueRefused(what string, kind revoke.Kind, client, parent string) error {
	e.T.Helper()
	v := harness.Token()
	err := e.R.Issue(e.Ctx, revoke.Token{Value: v, Kind: kind, ClientID: client, Parent: parent, ExpiresAt: e.Clock.Now().Add(time.Hour)})
	if _, found := e.Record(v); found {
		e.T.Errorf("Issue %s stored a record", what)
	}
	return err
}

func testIssueUnderUnknownParent(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	if err := e.issueRefused("under an unknown parent", revoke.Access, "c1", harness.Token()); !errors.Is(err, revoke.ErrUnknownParent) {
		t.Errorf("Issue under an unknown parent: err = %v, want ErrUnknownParent", err)
	}
}

func testIssueUnderForeignParent(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	rt := e.Issue(revoke.Refresh, "c1", "", time.Hour)
	if err := e.issueRefused("under another client's parent", revoke.Access, "c2", rt); !errors.Is(err, revoke.ErrClientMismatch) {
		t.Errorf("Issue under another client's parent: err = %v, want ErrClientMismatch", err)
	}
	e.Revoke(rt, "c1", 1) // the parent's grant gained no member
}

func testIssueUnderAccessParent(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	rt := e.Issue(revoke.Refresh, "c1", "", time.Hour)
	at := e.Issue(revoke.Access, "c1", rt, time.Hour)
	err := e.issueRefused("under an access token", revoke.Access, "c1", at)
	var fe *revoke.FieldError
	if !errors.As(err, &fe) || fe.Field != "Parent" {
		t.Errorf("Issue under an access token: err = %v, want a *FieldError for Parent", err)
	}
}

func testIssueUnderExpiredParent(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	rt := e.Issue(revoke.Refresh, "c1", "", time.Hour)
	e.Clock.Advance(time.Hour)
	if err := e.issueRefused("under an expired parent", revoke.Access, "c1", rt); !errors.Is(err, revoke.ErrUnknownParent) {
		t.Errorf("Issue under an expired parent: err = %v, want ErrUnknownParent", err)
	}
}

func testPurgeKeepsGrantRevoked(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open, revoke.WithPurge(revoke.PurgePolicy{Grace: 0, Batch: revoke.DefaultPurgeBatch}))
	// The root expires first; the rotated refresh token and its access
	// token outlive it.
	root := e.Issue(revoke.Refresh, "c1", "", time.Hour)
	rotated := e.Issue(revoke.Refresh, "c1", root, 48*time.Hour)
	at := e.Issue(revoke.Access, "c1", rotated, 3*time.Hour)
	e.Clock.Advance(30 * time.Minute)
	e.Revoke(rotated, "c1", 3)
	e.Clock.Advance(time.Hour)
	if n, err := e.R.Purge(e.Ctx); err != nil || n != 1 {
		t.Fatalf("Purge = (%d, %v), want the root only", n, err)
	}
	e.WantRevoked("live members of a revoked grant after its root was purged", rotated, at)
	err := e.R.Issue(e.Ctx, revoke.Token{Value: harness.Token(), Kind: revoke.Access, ClientID: "c1", Parent: rotated, ExpiresAt: e.Clock.Now().Add(time.Hour)})
	if !errors.Is(err, revoke.ErrRevoked) {
		t.Errorf("Issue under a revoked member after purge: err = %v, want ErrRevoked", err)
	}
	err = e.R.Issue(e.Ctx, revoke.Token{Value: harness.Token(), Kind: revoke.Access, ClientID: "c1", Parent: root, ExpiresAt: e.Clock.Now().Add(time.Hour)})
	if !errors.Is(err, revoke.ErrUnknownParent) {
		t.Errorf("Issue under a purged parent: err = %v, want ErrUnknownParent", err)
	}
	// A live grant whose root was purged still cascades.
	root2 := e.Issue(revoke.Refresh, "c1", "", time.Hour)
	rot2 := e.Issue(revoke.Refresh, "c1", root2, 48*time.Hour)
	at2 := e.Issue(revoke.Access, "c1", rot2, 3*time.Hour)
	e.Clock.Advance(2 * time.Hour)
	if _, err := e.R.Purge(e.Ctx); err != nil {
		t.Fatal(err)
	}
	if _, found := e.Record(root2); found {
		t.Fatal("expired root not purged")
	}
	e.Revoke(rot2, "c1", 2)
	e.WantRevoked("grant members after the root's purge", rot2, at2)
}
