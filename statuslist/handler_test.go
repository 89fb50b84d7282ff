package statuslist

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// TestServeSignedList serves a list as the draft's section 5.1 has it:
// typ statuslist+jwt, ES256 with the kid, sub the list's URI, iat, exp and
// ttl, status_list {bits: 1, lst} of the list size, all 0 before any
// revocation; and the HTTP headers relying parties cache by.
func TestServeSignedList(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	rv := newRevoker(t)
	key := newKey(t)
	is := newIssuer(t, rv, key, WithListSize(1024), WithTTL(time.Minute), WithLifetime(time.Hour),
		WithClock(func() time.Time { return now }))
	e := issue(t, rv, is, revoke.Token{Value: "a1"})

	req := httptest.NewRequest(http.MethodGet, e.URI, nil)
	req.Header.Set("Accept", "application/json;q=0.5, application/statuslist+jwt")
	rec := httptest.NewRecorder()
	is.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET: %d %s", rec.Code, rec.Body)
	}
	h := rec.Header()
	if h.Get("Content-Type") != MediaType || h.Get("Cache-Control") != "public, max-age=60" ||
		h.Get("ETag") == "" || h.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("headers: %v", h)
	}
	s := verify(t, rec.Body.String(), &key.PublicKey, h.Get("ETag"))
	if s.header["typ"] != "statuslist+jwt" || s.header["alg"] != "ES256" || s.header["kid"] != "k1" {
		t.Fatalf("header %v", s.header)
	}
	c := s.claims
	if c.Sub != e.URI || c.Iat != now.Unix() || c.Exp != now.Add(time.Hour).Unix() || c.TTL != 60 || c.StatusList.Bits != 1 {
		t.Fatalf("claims %+v", c)
	}
	if s.array.Len() != 1024 {
		t.Fatalf("list of %d entries, want 1024", s.array.Len())
	}
	for i := range uint32(1024) {
		if v, _ := s.array.Status(i); v != 0 {
			t.Fatalf("entry %d is %d before any revocation", i, v)
		}
	}
}

// TestRevokeFlipsEntry revokes an access token and finds its entry 1 in
// the served list, and only its entry; then another one of the same list,
// served and cached meanwhile, and finds its entry 1 too.
func TestRevokeFlipsEntry(t *testing.T) {
	rv := newRevoker(t)
	key := newKey(t)
	is := newIssuer(t, rv, key, WithListSize(1024))
	e1 := issue(t, rv, is, revoke.Token{Value: "a1"})
	e2 := issue(t, rv, is, revoke.Token{Value: "a2"})
	if status(t, is, e1, &key.PublicKey) != 0 {
		t.Fatal("a live token reads 1")
	}
	if _, err := rv.Revoke(context.Background(), "a1", "client"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, is, e1, &key.PublicKey, 1)
	if status(t, is, e2, &key.PublicKey) != 0 {
		t.Fatal("a token not revoked reads 1")
	}
	if _, err := rv.Revoke(context.Background(), "a2", "client"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, is, e2, &key.PublicKey, 1)
}

// TestCascadeFlipsEntries revokes a refresh token and finds the entries of
// its whole grant 1: the access token minted from it, the refresh token
// rotated from it.
func TestCascadeFlipsEntries(t *testing.T) {
	ctx := context.Background()
	rv := newRevoker(t)
	key := newKey(t)
	is := newIssuer(t, rv, key, WithListSize(1024), WithRandomIndices())
	r1 := issue(t, rv, is, revoke.Token{Value: "r1", Kind: revoke.Refresh})
	a1 := issue(t, rv, is, revoke.Token{Value: "a1", Parent: "r1"})
	r2, err := is.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	err = rv.Rotate(ctx, "r1", revoke.Token{Value: "r2", Kind: revoke.Refresh, ClientID: "client",
		ExpiresAt: time.Now().Add(time.Hour), Status: r2.Ref})
	if err != nil {
		t.Fatal(err)
	}
	a2 := issue(t, rv, is, revoke.Token{Value: "a2", Parent: "r2"})
	other := issue(t, rv, is, revoke.Token{Value: "other"})
	if _, err := rv.Revoke(ctx, "r2", "client"); err != nil {
		t.Fatal(err)
	}
	for _, e := range []Entry{r1, a1, r2, a2} {
		waitStatus(t, is, e, &key.PublicKey, 1)
	}
	if status(t, is, other, &key.PublicKey) != 0 {
		t.Fatal("a token of another grant reads 1")
	}
}

// TestReuseFlipsEntries presents a rotated refresh token again, which
// revokes its grant, and finds the grant's entries 1.
func TestReuseFlipsEntries(t *testing.T) {
	ctx := context.Background()
	rv := newRevoker(t)
	key := newKey(t)
	is := newIssuer(t, rv, key, WithListSize(1024))
	r1 := issue(t, rv, is, revoke.Token{Value: "r1", Kind: revoke.Refresh})
	r2, _ := is.Allocate()
	next := revoke.Token{Value: "r2", Kind: revoke.Refresh, ClientID: "client", ExpiresAt: time.Now().Add(time.Hour), Status: r2.Ref}
	if err := rv.Rotate(ctx, "r1", next); err != nil {
		t.Fatal(err)
	}
	next.Value = "r3"
	if err := rv.Rotate(ctx, "r1", next); err == nil {
		t.Fatal("reuse was not detected")
	}
	waitStatus(t, is, r1, &key.PublicKey, 1)
	waitStatus(t, is, r2, &key.PublicKey, 1)
}

// TestRevokeSubjectFlipsEntries revokes every grant of a user and finds
// each of their entries 1, and another user's 0.
func TestRevokeSubjectFlipsEntries(t *testing.T) {
	rv := newRevoker(t)
	key := newKey(t)
	is := newIssuer(t, rv, key, WithListSize(64))
	var alice []Entry
	for i := range 100 { // two lists and a half
		v := "alice-" + strconv.Itoa(i)
		alice = append(alice, issue(t, rv, is, revoke.Token{Value: v, Subject: "alice", ClientID: "c" + strconv.Itoa(i%3)}))
	}
	bob := issue(t, rv, is, revoke.Token{Value: "bob", Subject: "bob"})
	if n, err := rv.RevokeSubject(context.Background(), "alice"); err != nil || n != 100 {
		t.Fatalf("RevokeSubject = %d, %v", n, err)
	}
	for _, e := range alice {
		waitStatus(t, is, e, &key.PublicKey, 1)
	}
	if status(t, is, bob, &key.PublicKey) != 0 {
		t.Fatal("another user's token reads 1")
	}
}

// TestLoadsRevocationsAtStart starts an Issuer over a store that already
// holds revoked tokens: their entries read 1 at once, as on a replica or
// after a restart.
func TestLoadsRevocationsAtStart(t *testing.T) {
	ctx := context.Background()
	rv := newRevoker(t)
	key := newKey(t)
	first := newIssuer(t, rv, key, WithListSize(64))
	e := issue(t, rv, first, revoke.Token{Value: "a1"})
	live := issue(t, rv, first, revoke.Token{Value: "a2"})
	if _, err := rv.Revoke(ctx, "a1", "client"); err != nil {
		t.Fatal(err)
	}
	second := newIssuer(t, rv, key, WithListSize(64))
	if status(t, second, e, &key.PublicKey) != 1 || status(t, second, live, &key.PublicKey) != 0 {
		t.Fatal("the entries of the store are not loaded at start")
	}
}

// TestReloadsWhenChangeLogIsGone revokes more tokens at once than the
// Revoker's change log keeps, so that the Issuer loses its place, and finds
// every entry 1 all the same, from the reload.
func TestReloadsWhenChangeLogIsGone(t *testing.T) {
	rv := newRevoker(t, revoke.WithChangeLog(1))
	key := newKey(t)
	is := newIssuer(t, rv, key, WithListSize(256))
	var es []Entry
	for i := range 50 {
		es = append(es, issue(t, rv, is, revoke.Token{Value: "t" + strconv.Itoa(i), Subject: "alice"}))
	}
	if _, err := rv.RevokeSubject(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		waitStatus(t, is, e, &key.PublicKey, 1)
	}
}

// TestConditionalGet answers 304 to the ETag of the list served, and a new
// ETag with 200 once the list changes.
func TestConditionalGet(t *testing.T) {
	rv := newRevoker(t)
	key := newKey(t)
	is := newIssuer(t, rv, key, WithListSize(64))
	e := issue(t, rv, is, revoke.Token{Value: "a1"})
	if _, err := rv.Revoke(context.Background(), "a1", "client"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, is, e, &key.PublicKey, 1)
	etag := fetch(t, is, e.URI, &key.PublicKey).etag
	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, e.URI, nil)
		req.Header.Set("If-None-Match", `"x", `+etag)
		rec := httptest.NewRecorder()
		is.ServeHTTP(rec, req)
		return rec
	}
	if rec := get(); rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Fatalf("If-None-Match with the ETag: %d", rec.Code)
	}
	e2 := issue(t, rv, is, revoke.Token{Value: "a2"})
	if _, err := rv.Revoke(context.Background(), "a2", "client"); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, is, e2, &key.PublicKey, 1)
	if rec := get(); rec.Code != http.StatusOK || rec.Header().Get("ETag") == etag {
		t.Fatalf("after a change: %d, ETag %q (was %q)", rec.Code, rec.Header().Get("ETag"), etag)
	}
}

// TestServeAnyList serves a list number this Issuer never allocated, all
// 0 at the list size: any replica serves any list.
func TestServeAnyList(t *testing.T) {
	rv := newRevoker(t)
	key := newKey(t)
	is := newIssuer(t, rv, key, WithListSize(2048))
	s := fetch(t, is, testBase+"/00000000000000ab", &key.PublicKey)
	if s.claims.Sub != testBase+"/00000000000000ab" || s.array.Len() != 2048 {
		t.Fatalf("sub %q, %d entries", s.claims.Sub, s.array.Len())
	}
	if again := fetch(t, is, testBase+"/00000000000000ab", &key.PublicKey); again.etag != s.etag {
		t.Fatal("the ETag of an empty list changes within the ttl")
	}
}

// TestRefusals answers 404, 405 and 406 without a token.
func TestRefusals(t *testing.T) {
	rv := newRevoker(t)
	is := newIssuer(t, rv, newKey(t))
	cases := []struct {
		method, path, accept string
		want                 int
	}{
		{http.MethodGet, "/statuslists/0000000000000000", "", http.StatusNotFound},
		{http.MethodGet, "/statuslists/00000000000000AB", "", http.StatusNotFound},
		{http.MethodGet, "/statuslists/ab", "", http.StatusNotFound},
		{http.MethodGet, "/other/00000000000000ab", "", http.StatusNotFound},
		{http.MethodGet, "/statuslists/00000000000000ab/x", "", http.StatusNotFound},
		{http.MethodPost, "/statuslists/00000000000000ab", "", http.StatusMethodNotAllowed},
		{http.MethodGet, "/statuslists/00000000000000ab", "application/json", http.StatusNotAcceptable},
		{http.MethodGet, "/statuslists/00000000000000ab", "application/statuslist+jwt;q=0", http.StatusNotAcceptable},
		{http.MethodGet, "/statuslists/00000000000000ab", "application/statuslist+cwt", http.StatusNotAcceptable},
		{http.MethodGet, "/statuslists/00000000000000ab", "*/*", http.StatusOK},
		{http.MethodHead, "/statuslists/00000000000000ab", "application/*", http.StatusOK},
	}
	for _, c := range cases {
		req := httptest.NewRequest(c.method, "https://as.example"+c.path, nil)
		if c.accept != "" {
			req.Header.Set("Accept", c.accept)
		}
		rec := httptest.NewRecorder()
		is.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("%s %s (Accept %q): %d, want %d", c.method, c.path, c.accept, rec.Code, c.want)
		}
		if c.want != http.StatusOK && strings.Contains(rec.Body.String(), ".") {
			t.Errorf("%s %s: a refusal carries a token", c.method, c.path)
		}
	}
	if is.Close() != nil {
		t.Fatal("Close")
	}
	rec := httptest.NewRecorder()
	is.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, testBase+"/00000000000000ab", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("after Close: %d", rec.Code)
	}
}

// TestEdDSA signs with an Ed25519 key, and the token verifies with it.
func TestEdDSA(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rv := newRevoker(t)
	is, err := New(context.Background(), rv, testBase, Key{Signer: priv, ID: "ed"})
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	rec := httptest.NewRecorder()
	is.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, testBase+"/00000000000000ab", nil))
	parts := strings.Split(rec.Body.String(), ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	if len(parts) != 3 || !ed25519.Verify(pub, []byte(parts[0]+"."+parts[1]), sig) {
		t.Fatal("the EdDSA token does not verify")
	}
	var header map[string]any
	decodeSegment(t, parts[0], &header)
	if header["alg"] != "EdDSA" {
		t.Fatalf("alg %v", header["alg"])
	}
}
