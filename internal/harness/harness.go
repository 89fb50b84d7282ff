// Package harness drives a revoke.Revoker over a Store in tests: a
// settable clock, a fresh Revoker per test, and helpers that issue,
// rotate and revoke tokens and fail the test on an unexpected outcome. The
// rule tests of package revoke and the integration tests of
// store/storetest share it.
package harness

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// Clock is a settable clock for revoke.WithClock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock at the current second.
func NewClock() *Clock {
	return &Clock{now: time.Now().UTC().Truncate(time.Second)}
}

// Now returns the clock's time; it is a clock for revoke.WithClock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Env is one subtest's store, clock and Revoker.
type Env struct {
	T     *testing.T
	Ctx   context.Context
	Store revoke.Store
	Clock *Clock
	R     *revoke.Revoker
}

// Setup opens a fresh store and a Revoker over it with a test clock. The
// Revoker is closed when the test ends.
func Setup(t *testing.T, open func(t *testing.T) revoke.Store, opts ...revoke.Option) *Env {
	t.Helper()
	s := open(t)
	if s == nil {
		t.Fatal("open returned a nil Store")
	}
	c := NewClock()
	r, err := revoke.New(s, append([]revoke.Option{revoke.WithClock(c.Now)}, opts...)...)
	if err != nil {
		t.Fatalf("revoke.New: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil && !errors.Is(err, revoke.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return &Env{T: t, Ctx: context.Background(), Store: s, Clock: c, R: r}
}

// Token returns a fresh random token value.
func Token() string { return "tok-" + rand.Text() }

// Issue issues a token and fails the test on error. parent may be empty.
func (e *Env) Issue(kind revoke.Kind, client, parent string, ttl time.Duration) string {
	e.T.Helper()
	v := Token()
	err := e.R.Issue(e.Ctx, revoke.Token{
		Value: v, Kind: kind, ClientID: client, Subject: "alice",
		Parent: parent, ExpiresAt: e.Clock.Now().Add(ttl),
	})
	if err != nil {
		e.T.Fatalf("Issue(%v, client %q, parent set %v): %v", kind, client, parent != "", err)
	}
	return v
}

// Grant is a rotated grant: refresh tokens R[0] <- R[1] <- ... and access
// tokens A[i] minted from R[i].
type Grant struct {
	Client string
	R, A   []string
}

// All returns every token of the grant.
func (g Grant) All() []string { return append(append([]string(nil), g.R...), g.A...) }

// NewGrant issues a grant of n refresh tokens, each rotated from the one
// before, and one access token minted from each.
func (e *Env) NewGrant(client string, n int) Grant {
	e.T.Helper()
	g := Grant{Client: client}
	parent := ""
	for range n {
		rt := e.Issue(revoke.Refresh, client, parent, 24*time.Hour)
		g.R = append(g.R, rt)
		g.A = append(g.A, e.Issue(revoke.Access, client, rt, time.Hour))
		parent = rt
	}
	return g
}

// Revoke revokes tok on behalf of client and fails the test unless it
// revoked want tokens.
func (e *Env) Revoke(tok, client string, want int) {
	e.T.Helper()
	n, err := e.R.Revoke(e.Ctx, tok, client)
	if err != nil {
		e.T.Fatalf("Revoke: %v", err)
	}
	if n != want {
		e.T.Fatalf("Revoke revoked %d tokens, want %d", n, want)
	}
}

// IsRevoked reports IsRevoked of tok, failing the test on error.
func (e *Env) IsRevoked(tok string) bool {
	e.T.Helper()
	ok, err := e.R.IsRevoked(e.Ctx, tok)
	if err != nil {
		e.T.Fatalf("IsRevoked: %v", err)
	}
	return ok
}

// WantRevoked fails the test unless every token of toks is revoked.
func (e *Env) WantRevoked(what string, toks ...string) {
	e.T.Helper()
	for i, tok := range toks {
		if !e.IsRevoked(tok) {
			e.T.Errorf("%s[%d]: IsRevoked = false, want true", what, i)
		}
	}
}

// WantLive fails the test unless no token of toks is revoked.
func (e *Env) WantLive(what string, toks ...string) {
	e.T.Helper()
	for i, tok := range toks {
		if e.IsRevoked(tok) {
			e.T.Errorf("%s[%d]: IsRevoked = true, want false", what, i)
		}
	}
}

// Record reads the stored record of tok straight from the store.
func (e *Env) Record(tok string) (revoke.Record, bool) {
	e.T.Helper()
	return e.RecordByID(revoke.TokenID(tok))
}

// RecordByID reads the stored record whose ID is id.
func (e *Env) RecordByID(id revoke.ID) (revoke.Record, bool) {
	e.T.Helper()
	var (
		rec   revoke.Record
		found bool
	)
	err := e.Store.View(e.Ctx, func(tx revoke.Tx) error {
		recs, err := tx.Get(e.Ctx, []revoke.ID{id})
		if len(recs) > 0 {
			rec, found = recs[0], true
		}
		return err
	})
	if err != nil {
		e.T.Fatalf("View: %v", err)
	}
	return rec, found
}

// IssueAs issues a token with a subject and fails the test on error.
func (e *Env) IssueAs(kind revoke.Kind, client, subject, parent string, ttl time.Duration) string {
	e.T.Helper()
	v := Token()
	err := e.R.Issue(e.Ctx, revoke.Token{
		Value: v, Kind: kind, ClientID: client, Subject: subject,
		Parent: parent, ExpiresAt: e.Clock.Now().Add(ttl),
	})
	if err != nil {
		e.T.Fatalf("Issue(%v, client %q, subject %q): %v", kind, client, subject, err)
	}
	return v
}

// TryRotate rotates old to a fresh refresh token of client and returns it
// with Rotate's error.
func (e *Env) TryRotate(old, client string) (string, error) {
	e.T.Helper()
	v := Token()
	return v, e.R.Rotate(e.Ctx, old, revoke.Token{Value: v, Kind: revoke.Refresh, ClientID: client, ExpiresAt: e.Clock.Now().Add(24 * time.Hour)})
}

// Rotate rotates old and fails the test on error.
func (e *Env) Rotate(old, client string) string {
	e.T.Helper()
	v, err := e.TryRotate(old, client)
	if err != nil {
		e.T.Fatalf("Rotate: %v", err)
	}
	return v
}

// WantReused checks that err wraps ErrReused and that next was not stored.
func (e *Env) WantReused(what string, next string, err error) {
	e.T.Helper()
	if !errors.Is(err, revoke.ErrReused) {
		e.T.Errorf("%s: err = %v, want ErrReused", what, err)
	}
	if _, found := e.Record(next); found {
		e.T.Errorf("%s: the refused token was stored", what)
	}
}

// MustRecord returns the stored record of tok, failing the test if there
// is none.
func MustRecord(e *Env, tok string) revoke.Record {
	e.T.Helper()
	rec, found := e.Record(tok)
	if !found {
		e.T.Fatal("no record")
	}
	return rec
}

// Owned is the tokens of one subject's grants.
type Owned struct {
	Tokens []string
	Grants int
}

// Logins issues n grants for subject at client, each rotated twice with an
// access token per refresh token.
func (e *Env) Logins(o *Owned, client, subject string, n int) {
	e.T.Helper()
	for range n {
		r0 := e.IssueAs(revoke.Refresh, client, subject, "", 24*time.Hour)
		r1 := e.Rotate(r0, client)
		a1 := e.IssueAs(revoke.Access, client, "", r1, time.Hour)
		r2 := e.Rotate(r1, client)
		a2 := e.IssueAs(revoke.Access, client, "", r2, time.Hour)
		o.Tokens = append(o.Tokens, r0, r1, a1, r2, a2)
		o.Grants++
	}
}

// KeepOpen is a Store whose Close leaves the Store it wraps open, for a
// Revoker that must stop without closing the store under the next one.
type KeepOpen struct{ revoke.Store }

// Close leaves the wrapped Store open.
func (KeepOpen) Close() error { return nil }
