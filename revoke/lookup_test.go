package revoke_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// lookupCase is a token a lookup test set up, and what Lookup must say of
// it.
type lookupCase struct {
	token string
	want  revoke.TokenInfo
}

// setUpLookupStates issues, rotates, revokes and expires tokens on r so
// that every state appears, and returns what Lookup must report for each.
// The clock starts at c.now and ends an hour later.
func setUpLookupStates(t *testing.T, r *revoke.Revoker, c *testClock, s revoke.Store) []lookupCase {
	t.Helper()
	ctx := context.Background()
	start := c.now
	long, short := start.Add(24*time.Hour), start.Add(time.Minute)
	issue := func(value string, kind revoke.Kind, client, subject, parent string, exp time.Time) {
		t.Helper()
		mustDo(t, r.Issue(ctx, revoke.Token{Value: value, Kind: kind, ClientID: client, Subject: subject, Parent: parent, ExpiresAt: exp}))
	}
	rotate := func(old, next string) {
		t.Helper()
		mustDo(t, r.Rotate(ctx, old, revoke.Token{Value: next, Kind: revoke.Refresh, ClientID: "app", ExpiresAt: long}))
	}
	revokeTok := func(token, client string) {
		t.Helper()
		if _, err := r.Revoke(ctx, token, client); err != nil {
			t.Fatal(err)
		}
	}

	// A live grant: a refresh token, an access token minted from it
	// (subject inherited), and one rotated refresh token.
	issue("live-refresh", revoke.Refresh, "app", "alice", "", long)
	issue("live-access", revoke.Access, "app", "", "live-refresh", long)
	rotate("live-refresh", "live-refresh-2")
	// A grant revoked after its access token was minted, with a spent
	// member: every member is revoked, the spent one included.
	issue("g2-refresh", revoke.Refresh, "app", "bob", "", long)
	rotate("g2-refresh", "g2-refresh-2")
	issue("g2-access", revoke.Access, "app", "", "g2-refresh-2", long)
	revokeTok("g2-refresh-2", "app")
	// Reuse: the grant dies, the newest token included.
	issue("g3-refresh", revoke.Refresh, "web", "carol", "", long)
	rotate2 := func(old, next string) error {
		return r.Rotate(ctx, old, revoke.Token{Value: next, Kind: revoke.Refresh, ClientID: "web", ExpiresAt: long})
	}
	mustDo(t, rotate2("g3-refresh", "g3-refresh-2"))
	if err := rotate2("g3-refresh", "g3-refresh-3"); !errors.Is(err, revoke.ErrReused) {
		t.Fatalf("reuse: %v", err)
	}
	// An access token revoked alone, and one revoked by its subject.
	issue("revoked-access", revoke.Access, "app", "dave", "", long)
	revokeTok("revoked-access", "app")
	issue("subject-access", revoke.Access, "tv", "erin", "", long)
	if _, err := r.RevokeSubject(ctx, "erin"); err != nil {
		t.Fatal(err)
	}
	// A key deny-listed without an Issue.
	if _, err := r.RevokeUntracked(ctx, "untracked", "jwt-app", long); err != nil {
		t.Fatal(err)
	}
	// Short-lived tokens: one left to expire, one revoked that expires.
	issue("expiring", revoke.Access, "app", "frank", "", short)
	issue("expiring-revoked", revoke.Access, "app", "frank", "", short)
	revokeTok("expiring-revoked", "app")
	issue("expiring-spent", revoke.Refresh, "app", "gina", "", short)
	rotate("expiring-spent", "expiring-spent-2")
	// A revoked token whose record another process purged: the index
	// still holds it.
	issue("purged-revoked", revoke.Access, "app", "", "", long)
	revokeTok("purged-revoked", "app")
	mustDo(t, s.Update(ctx, func(tx revoke.Tx) error { return tx.Delete(ctx, []revoke.ID{revoke.TokenID("purged-revoked")}) }))
	c.now = start.Add(time.Hour)

	info := func(st revoke.TokenState, kind revoke.Kind, client, subject string, exp time.Time) revoke.TokenInfo {
		return revoke.TokenInfo{State: st, Kind: kind, ClientID: client, Subject: subject, ExpiresAt: exp}
	}
	A, R := revoke.Access, revoke.Refresh
	return []lookupCase{
		{"live-refresh", info(revoke.StateSpent, R, "app", "alice", long)},
		{"live-refresh-2", info(revoke.StateLive, R, "app", "alice", long)},
		{"live-access", info(revoke.StateLive, A, "app", "alice", long)},
		{"g2-refresh", info(revoke.StateRevoked, R, "app", "bob", long)},
		{"g2-refresh-2", info(revoke.StateRevoked, R, "app", "bob", long)},
		{"g2-access", info(revoke.StateRevoked, A, "app", "bob", long)},
		{"g3-refresh", info(revoke.StateRevoked, R, "web", "carol", long)},
		{"g3-refresh-2", info(revoke.StateRevoked, R, "web", "carol", long)},
		{"g3-refresh-3", info(revoke.StateNotIssued, 0, "", "", time.Time{})},
		{"revoked-access", info(revoke.StateRevoked, A, "app", "dave", long)},
		{"subject-access", info(revoke.StateRevoked, A, "tv", "erin", long)},
		{"untracked", info(revoke.StateRevoked, A, "jwt-app", "", long)},
		{"expiring", info(revoke.StateExpired, A, "app", "frank", short)},
		{"expiring-revoked", info(revoke.StateRevoked, A, "app", "frank", short)},
		{"expiring-spent", info(revoke.StateExpired, R, "app", "gina", short)},
		{"purged-revoked", info(revoke.StateRevoked, 0, "", "", time.Time{})},
		{"made-up", info(revoke.StateNotIssued, 0, "", "", time.Time{})},
	}
}

// TestLookupStates checks every state Lookup reports, with the token's
// client, subject, kind and expiry.
func TestLookupStates(t *testing.T) {
	for name, newStore := range map[string]func() revoke.Store{
		"memory": func() revoke.Store { return memory.New() },
	} {
		t.Run(name, func(t *testing.T) {
			s := newStore()
			r, c := newKeyedOn(t, s)
			for _, tc := range setUpLookupStates(t, r, c, s) {
				got, err := r.Lookup(context.Background(), tc.token)
				if err != nil {
					t.Errorf("Lookup(%q): %v", tc.token, err)
					continue
				}
				if !got.ExpiresAt.Equal(tc.want.ExpiresAt) || got.ExpiresAt.Location() != time.UTC {
					t.Errorf("Lookup(%q).ExpiresAt = %v, want %v in UTC", tc.token, got.ExpiresAt, tc.want.ExpiresAt)
				}
				got.ExpiresAt, tc.want.ExpiresAt = time.Time{}, time.Time{}
				if got != tc.want {
					t.Errorf("Lookup(%q) = %+v, want %+v", tc.token, got, tc.want)
				}
				// Lookup never reports live what IsRevoked reports revoked.
				if revoked := isRevoked(t, r, tc.token); revoked && got.State != revoke.StateRevoked {
					t.Errorf("Lookup(%q) = %v, IsRevoked = true", tc.token, got.State)
				}
			}
		})
	}
}

// newKeyedOn is newKeyed over s, without a key function.
func newKeyedOn(t *testing.T, s revoke.Store, opts ...revoke.Option) (*revoke.Revoker, *testClock) {
	t.Helper()
	c := &testClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	r, err := revoke.New(s, append([]revoke.Option{revoke.WithClock(c.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r, c
}

func TestTokenStateString(t *testing.T) {
	for st, want := range map[revoke.TokenState]string{
		revoke.StateNotIssued: "not issued",
		revoke.StateLive:      "live",
		revoke.StateRevoked:   "revoked",
		revoke.StateSpent:     "spent",
		revoke.StateExpired:   "expired",
		revoke.TokenState(9):  "TokenState(9)",
	} {
		if got := st.String(); got != want {
			t.Errorf("TokenState(%d).String() = %q, want %q", uint8(st), got, want)
		}
	}
	var zero revoke.TokenInfo
	if zero.State != revoke.StateNotIssued {
		t.Errorf("the zero TokenInfo is %v, want not issued", zero.State)
	}
}

// TestLookupInput checks that Lookup refuses what IsRevoked refuses, and
// what no Issue could have recorded, with a *FieldError and no store read.
func TestLookupInput(t *testing.T) {
	ctx := context.Background()
	s := &countingStore{Store: memory.New()}
	r, c := newKeyedOn(t, s, revoke.WithTokenKey(hashKey))
	mustDo(t, r.Issue(ctx, revoke.Token{Value: "id-1#sig-a", Kind: revoke.Access, ClientID: "app", ExpiresAt: c.now.Add(time.Hour)}))

	// Another spelling of the token is the token.
	got, err := r.Lookup(ctx, "id-1#sig-b")
	if err != nil || got.State != revoke.StateLive || got.ClientID != "app" {
		t.Errorf("Lookup of another spelling = %+v, %v; want live", got, err)
	}
	views := s.views.Load()
	for _, token := range []string{"", "no-separator", "#empty-key", "id-1#" + strings.Repeat("x", revoke.MaxTokenLength)} {
		got, err := r.Lookup(ctx, token)
		var fe *revoke.FieldError
		if !errors.As(err, &fe) || fe.Field != "token" || !errors.Is(err, revoke.ErrInvalidToken) {
			t.Errorf("Lookup(%.20q) error = %v, want a *FieldError of token", token, err)
		}
		if got != (revoke.TokenInfo{}) {
			t.Errorf("Lookup(%.20q) = %+v with an error, want the zero TokenInfo", token, got)
		}
	}
	if n := s.views.Load() - views; n != 0 {
		t.Errorf("refused input read the store %d times", n)
	}
}

// countingStore counts the read transactions and the Gets in them, and
// fails them with err once it is set.
type countingStore struct {
	revoke.Store
	views, gets atomic.Int64
	err         atomic.Pointer[error]
}

func (s *countingStore) View(ctx context.Context, fn func(revoke.Tx) error) error {
	s.views.Add(1)
	if p := s.err.Load(); p != nil {
		return *p
	}
	return s.Store.View(ctx, func(tx revoke.Tx) error { return fn(countingTx{Tx: tx, s: s}) })
}

type countingTx struct {
	revoke.Tx
	s *countingStore
}

func (t countingTx) Get(ctx context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	t.s.gets.Add(1)
	return t.Tx.Get(ctx, ids)
}

// TestLookupReadsOnce checks that a Lookup is one read transaction with one
// Get, for a token of every state.
func TestLookupReadsOnce(t *testing.T) {
	s := &countingStore{Store: memory.New()}
	r, c := newKeyedOn(t, s)
	cases := setUpLookupStates(t, r, c, s)
	for _, tc := range cases {
		views, gets := s.views.Load(), s.gets.Load()
		if _, err := r.Lookup(context.Background(), tc.token); err != nil {
			t.Fatal(err)
		}
		if v, g := s.views.Load()-views, s.gets.Load()-gets; v != 1 || g != 1 {
			t.Errorf("Lookup(%q): %d read transactions, %d Gets; want 1 and 1", tc.token, v, g)
		}
	}
}

// TestLookupStoreErrors checks that a failing store is an error, never a
// state, and that a closed Revoker answers ErrClosed.
func TestLookupStoreErrors(t *testing.T) {
	ctx := context.Background()
	s := &countingStore{Store: memory.New()}
	rec := &recorder{}
	r, c := newKeyedOn(t, s, revoke.WithObserver(rec.observe))
	mustDo(t, r.Issue(ctx, revoke.Token{Value: "tok", Kind: revoke.Access, ClientID: "app", ExpiresAt: c.now.Add(time.Hour)}))
	rec.take()
	down := fmt.Errorf("connection refused: %w", revoke.ErrUnavailable)
	s.err.Store(&down)
	got, err := r.Lookup(ctx, "tok")
	if !errors.Is(err, revoke.ErrUnavailable) || !strings.HasPrefix(err.Error(), "revoke: Lookup: ") {
		t.Errorf("Lookup over a failing store: %v, want an error wrapping ErrUnavailable", err)
	}
	if got != (revoke.TokenInfo{}) {
		t.Errorf("Lookup over a failing store = %+v, want the zero TokenInfo", got)
	}
	wantEvent(t, rec.take(), revoke.Event{Kind: revoke.EventStoreError, Op: "Lookup"})
	s.err.Store(nil)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Lookup(ctx, "tok"); !errors.Is(err, revoke.ErrClosed) {
		t.Errorf("Lookup after Close: %v, want ErrClosed", err)
	}
}

// TestLookupSeesAnotherProcess checks that Lookup reads the store: a
// revocation another process committed to a shared store is revoked to
// Lookup before the follower brings it to the index.
func TestLookupSeesAnotherProcess(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	writer, c := newKeyedOn(t, &sharedStore{Store: mem}, revoke.WithFollow(revoke.FollowPolicy{Interval: time.Hour}))
	reader, _ := newKeyedOn(t, &sharedStore{Store: mem}, revoke.WithFollow(revoke.FollowPolicy{Interval: time.Hour}),
		revoke.WithClock(c.Now))
	mustDo(t, writer.Issue(ctx, revoke.Token{Value: "tok", Kind: revoke.Access, ClientID: "app", ExpiresAt: c.now.Add(time.Hour)}))
	if _, err := writer.Revoke(ctx, "tok", "app"); err != nil {
		t.Fatal(err)
	}
	if isRevoked(t, reader, "tok") {
		t.Fatal("the reader's index already holds the revocation: the test shows nothing")
	}
	if got, err := reader.Lookup(ctx, "tok"); err != nil || got.State != revoke.StateRevoked {
		t.Errorf("Lookup of another process's revocation = %+v, %v; want revoked", got, err)
	}
}

// TestRevokeOfAnotherProcessRevocationReachesTheIndex checks that a token
// another process revoked, revoked again through this Revoker (a client
// that retried against another replica), is reported by IsRevoked when
// Revoke or RevokeUntracked returns, without waiting for the follower.
func TestRevokeOfAnotherProcessRevocationReachesTheIndex(t *testing.T) {
	ctx := context.Background()
	mem := memory.New()
	writer, c := newKeyedOn(t, &sharedStore{Store: mem}, revoke.WithFollow(revoke.FollowPolicy{Interval: time.Hour}))
	reader, _ := newKeyedOn(t, &sharedStore{Store: mem}, revoke.WithFollow(revoke.FollowPolicy{Interval: time.Hour}),
		revoke.WithClock(c.Now))
	for _, tok := range []string{"tok", "untracked"} {
		mustDo(t, writer.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Access, ClientID: "app", ExpiresAt: c.now.Add(time.Hour)}))
		if _, err := writer.Revoke(ctx, tok, "app"); err != nil {
			t.Fatal(err)
		}
		if isRevoked(t, reader, tok) {
			t.Fatal("the reader's index already holds the revocation: the test shows nothing")
		}
	}
	if n, err := reader.Revoke(ctx, "tok", "app"); n != 0 || err != nil {
		t.Fatalf("Revoke of a revoked token = (%d, %v), want (0, nil)", n, err)
	}
	if !isRevoked(t, reader, "tok") {
		t.Error("Revoke returned, and IsRevoked does not report the token revoked")
	}
	if n, err := reader.RevokeUntracked(ctx, "untracked", "app", c.now.Add(time.Hour)); n != 0 || err != nil {
		t.Fatalf("RevokeUntracked of a revoked token = (%d, %v), want (0, nil)", n, err)
	}
	if !isRevoked(t, reader, "untracked") {
		t.Error("RevokeUntracked returned, and IsRevoked does not report the token revoked")
	}
}
