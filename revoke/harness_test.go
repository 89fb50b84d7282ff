package revoke_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// clock is a settable clock for revoke.WithClock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Now().UTC().Truncate(time.Second)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is one subtest's store, clock and Revoker.
type env struct {
	t     *testing.T
	ctx   context.Context
	store revoke.Store
	clock *clock
	r     *revoke.Revoker
}

// setup opens a fresh store and a Revoker over it with a test clock. The
// Revoker is closed when the test ends.
func setup(t *testing.T, open func(t *testing.T) revoke.Store, opts ...revoke.Option) *env {
	t.Helper()
	s := open(t)
	if s == nil {
		t.Fatal("open returned a nil Store")
	}
	c := newClock()
	r, err := revoke.New(s, append([]revoke.Option{revoke.WithClock(c.Now)}, opts...)...)
	if err != nil {
		t.Fatalf("revoke.New: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil && !errors.Is(err, revoke.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return &env{t: t, ctx: context.Background(), store: s, clock: c, r: r}
}

// token returns a fresh random token value.
func token() string { return "tok-" + rand.Text() }

// issue issues a token and fails the test on error. parent may be empty.
func (e *env) issue(kind revoke.Kind, client, parent string, ttl time.Duration) string {
	e.t.Helper()
	v := token()
	err := e.r.Issue(e.ctx, revoke.Token{
		Value: v, Kind: kind, ClientID: client, Subject: "alice",
		Parent: parent, ExpiresAt: e.clock.Now().Add(ttl),
	})
	if err != nil {
		e.t.Fatalf("Issue(%v, client %q, parent set %v): %v", kind, client, parent != "", err)
	}
	return v
}

// grant is a rotated grant: refresh tokens R[0] <- R[1] <- ... and access
// tokens A[i] minted from R[i].
type grant struct {
	client string
	R, A   []string
}

func (g grant) all() []string { return append(append([]string(nil), g.R...), g.A...) }

// newGrant issues a grant of n refresh tokens, each rotated from the one
// before, and one access token minted from each.
func (e *env) newGrant(client string, n int) grant {
	e.t.Helper()
	g := grant{client: client}
	parent := ""
	for range n {
		rt := e.issue(revoke.Refresh, client, parent, 24*time.Hour)
		g.R = append(g.R, rt)
		g.A = append(g.A, e.issue(revoke.Access, client, rt, time.Hour))
		parent = rt
	}
	return g
}

func (e *env) revoke(tok, client string, want int) {
	e.t.Helper()
	n, err := e.r.Revoke(e.ctx, tok, client)
	if err != nil {
		e.t.Fatalf("Revoke: %v", err)
	}
	if n != want {
		e.t.Fatalf("Revoke revoked %d tokens, want %d", n, want)
	}
}

func (e *env) isRevoked(tok string) bool {
	e.t.Helper()
	ok, err := e.r.IsRevoked(e.ctx, tok)
	if err != nil {
		e.t.Fatalf("IsRevoked: %v", err)
	}
	return ok
}

func (e *env) wantRevoked(what string, toks ...string) {
	e.t.Helper()
	for i, tok := range toks {
		if !e.isRevoked(tok) {
			e.t.Errorf("%s[%d]: IsRevoked = false, want true", what, i)
		}
	}
}

func (e *env) wantLive(what string, toks ...string) {
	e.t.Helper()
	for i, tok := range toks {
		if e.isRevoked(tok) {
			e.t.Errorf("%s[%d]: IsRevoked = true, want false", what, i)
		}
	}
}

// record reads the stored record of tok straight from the store.
func (e *env) record(tok string) (revoke.Record, bool) {
	e.t.Helper()
	return e.recordByID(revoke.TokenID(tok))
}

// recordByID reads the stored record whose ID is id.
func (e *env) recordByID(id revoke.ID) (revoke.Record, bool) {
	e.t.Helper()
	var (
		rec   revoke.Record
		found bool
	)
	err := e.store.View(e.ctx, func(tx revoke.Tx) error {
		var err error
		rec, found, err = getOne(e.ctx, tx, id)
		return err
	})
	if err != nil {
		e.t.Fatalf("View: %v", err)
	}
	return rec, found
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

func mustRecord(e *env, tok string) revoke.Record {
	e.t.Helper()
	rec, found := e.record(tok)
	if !found {
		e.t.Fatal("no record")
	}
	return rec
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

// keepOpen is a Store whose Close leaves the Store it wraps open, for a
// Revoker that must stop without closing the store under the next one.
type keepOpen struct{ revoke.Store }

func (keepOpen) Close() error { return nil }
