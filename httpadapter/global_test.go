package httpadapter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

const globalIssuer = "https://as.example"

// globalFixture is a Revoker with two grants of alice (on two clients) and
// one of bob, and a Global Token Revocation handler over it that takes the
// bearer token "tool" (and refuses "other-tenant"), and maps the email
// alice@example.com and the opaque id u-alice to alice.
type globalFixture struct {
	rv *revoke.Revoker
	h  http.Handler
}

func newGlobalFixture(t *testing.T) *globalFixture {
	t.Helper()
	ctx := context.Background()
	rv, err := revoke.New(memory.New())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rv.Close() })
	exp := time.Now().Add(time.Hour)
	for _, g := range []struct{ prefix, client, subject string }{
		{"alice-a", "client-a", "alice"}, {"alice-b", "client-b", "alice"}, {"bob", "client-a", "bob"},
	} {
		if err := rv.Issue(ctx, revoke.Token{Value: g.prefix + "-refresh", Kind: revoke.Refresh, ClientID: g.client, Subject: g.subject, ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		if err := rv.Issue(ctx, revoke.Token{Value: g.prefix + "-access", Kind: revoke.Access, ClientID: g.client, Parent: g.prefix + "-refresh", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	auth := func(_ context.Context, bearer string, _ SubjectID) error {
		switch bearer {
		case "tool":
			return nil
		case "other-tenant":
			return fmt.Errorf("tenant mismatch: %w", ErrCallerForbidden)
		}
		return ErrCallerUnauthenticated
	}
	resolve := func(_ context.Context, id SubjectID) (string, error) {
		switch {
		case id.Format == "email" && id.Email == "alice@example.com", id.Format == "opaque" && id.ID == "u-alice":
			return "alice", nil
		}
		return "", ErrSubjectNotFound
	}
	h, err := NewGlobalRevocationHandler(rv, WithGlobalAuth(auth), WithSubjectResolver(resolve), WithGlobalIssuer(globalIssuer))
	if err != nil {
		t.Fatal(err)
	}
	return &globalFixture{rv: rv, h: h}
}

// post sends body with the bearer token (none if empty).
func (f *globalFixture) post(bearer, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, GlobalRevocationPath, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

// revoked returns which of the fixture's tokens are revoked.
func (f *globalFixture) revoked(t *testing.T) map[string]bool {
	t.Helper()
	out := make(map[string]bool)
	for _, p := range []string{"alice-a", "alice-b", "bob"} {
		for _, k := range []string{"-refresh", "-access"} {
			r, err := f.rv.IsRevoked(context.Background(), p+k)
			if err != nil {
				t.Fatal(err)
			}
			out[p+k] = r
		}
	}
	return out
}

// TestGlobalRevocationRevokesEveryGrant revokes alice through each format
// and finds every one of her tokens revoked, on both clients, and none of
// bob's.
func TestGlobalRevocationRevokesEveryGrant(t *testing.T) {
	for _, body := range []string{
		`{"sub_id": {"format": "iss_sub", "iss": "` + globalIssuer + `", "sub": "alice"}}`,
		`{"sub_id": {"format": "email", "email": "alice@example.com"}}`,
		`{"sub_id": {"format": "opaque", "id": "u-alice"}}`,
	} {
		f := newGlobalFixture(t)
		rec := f.post("tool", body)
		if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
			t.Fatalf("%s: %d %s", body, rec.Code, rec.Body)
		}
		for tok, r := range f.revoked(t) {
			if r != strings.HasPrefix(tok, "alice") {
				t.Errorf("%s: %s revoked = %v", body, tok, r)
			}
		}
	}
}

// TestGlobalRevocationRefusals answers every refused request with its
// status, and revokes nothing.
func TestGlobalRevocationRefusals(t *testing.T) {
	alice := `{"sub_id": {"format": "iss_sub", "iss": "` + globalIssuer + `", "sub": "alice"}}`
	cases := []struct {
		name, bearer, body string
		want               int
	}{
		{"no bearer token", "", alice, http.StatusUnauthorized},
		{"unknown bearer token", "nope", alice, http.StatusUnauthorized},
		{"caller of another tenant", "other-tenant", alice, http.StatusForbidden},
		{"unknown format", "tool", `{"sub_id": {"format": "phone_number", "phone_number": "+1 555"}}`, http.StatusBadRequest},
		{"no format", "tool", `{"sub_id": {"sub": "alice"}}`, http.StatusBadRequest},
		{"iss_sub without sub", "tool", `{"sub_id": {"format": "iss_sub", "iss": "` + globalIssuer + `"}}`, http.StatusBadRequest},
		{"email without email", "tool", `{"sub_id": {"format": "email"}}`, http.StatusBadRequest},
		{"no sub_id", "tool", `{"subject": {"format": "email", "email": "alice@example.com"}}`, http.StatusBadRequest},
		{"not JSON", "tool", `sub_id=alice`, http.StatusBadRequest},
		{"two objects", "tool", alice + alice, http.StatusBadRequest},
		{"a stray brace after the object", "tool", alice + "}", http.StatusBadRequest},
		{"a stray bracket after the object", "tool", alice + " ]", http.StatusBadRequest},
		{"unknown email", "tool", `{"sub_id": {"format": "email", "email": "carol@example.com"}}`, http.StatusNotFound},
		{"iss_sub of an unknown issuer", "tool", `{"sub_id": {"format": "iss_sub", "iss": "https://idp.example", "sub": "x"}}`, http.StatusNotFound},
	}
	for _, c := range cases {
		f := newGlobalFixture(t)
		rec := f.post(c.bearer, c.body)
		if rec.Code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, rec.Code, rec.Body, c.want)
		}
		if c.want == http.StatusUnauthorized && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: no Bearer challenge", c.name)
		}
		for tok, r := range f.revoked(t) {
			if r {
				t.Errorf("%s: %s was revoked", c.name, tok)
			}
		}
	}
}

// TestGlobalRevocationHTTP answers 405, 415 and 413.
func TestGlobalRevocationHTTP(t *testing.T) {
	f := newGlobalFixture(t)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, GlobalRevocationPath, nil))
	if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != http.MethodPost {
		t.Errorf("GET: %d", rec.Code)
	}
	req := httptest.NewRequest(http.MethodPost, GlobalRevocationPath, strings.NewReader(`{}`))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Authorization", "Bearer tool")
	rec = httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d", rec.Code)
	}
	big := `{"sub_id": {"format": "opaque", "id": "` + strings.Repeat("x", 10<<10) + `"}}`
	if rec := f.post("tool", big); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("big body: %d", rec.Code)
	}
}

// failingRevoker fails RevokeSubject with err.
type failingRevoker struct{ err error }

func (f failingRevoker) RevokeSubject(context.Context, string) (int, error) { return 0, f.err }

// TestGlobalRevocationFailures answers 503 with Retry-After for a store
// that may come back, 500 for another failure: never 204.
func TestGlobalRevocationFailures(t *testing.T) {
	allow := func(context.Context, string, SubjectID) error { return nil }
	for _, c := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("down: %w", revoke.ErrUnavailable), http.StatusServiceUnavailable},
		{errors.New("disk on fire"), http.StatusInternalServerError},
	} {
		h, err := NewGlobalRevocationHandler(failingRevoker{c.err}, WithGlobalAuth(allow), WithGlobalIssuer(globalIssuer))
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, GlobalRevocationPath,
			strings.NewReader(`{"sub_id": {"format": "iss_sub", "iss": "`+globalIssuer+`", "sub": "alice"}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer x")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.want || (c.want == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") == "") {
			t.Errorf("%v: %d, want %d", c.err, rec.Code, c.want)
		}
	}
}

// TestGlobalRevocationOptions refuses configurations that could not serve.
func TestGlobalRevocationOptions(t *testing.T) {
	rv := failingRevoker{}
	allow := WithGlobalAuth(func(context.Context, string, SubjectID) error { return nil })
	resolve := WithSubjectResolver(func(context.Context, SubjectID) (string, error) { return "s", nil })
	for name, c := range map[string]struct {
		rv   SubjectRevoker
		opts []GlobalOption
		want string // what the error must name
	}{
		"no caller check":        {rv, []GlobalOption{resolve}, "WithGlobalAuth"},
		"nil caller check":       {rv, []GlobalOption{WithGlobalAuth(nil), resolve}, "WithGlobalAuth"},
		"no resolver nor issuer": {rv, []GlobalOption{allow}, "WithSubjectResolver or WithGlobalIssuer"},
		"nil resolver":           {rv, []GlobalOption{allow, WithSubjectResolver(nil), WithGlobalIssuer(globalIssuer)}, "WithSubjectResolver"},
		"empty issuer":           {rv, []GlobalOption{allow, resolve, WithGlobalIssuer("")}, "WithGlobalIssuer"},
		"nil logger":             {rv, []GlobalOption{allow, resolve, WithGlobalLogger(nil)}, "WithGlobalLogger"},
		"nil option":             {rv, []GlobalOption{allow, resolve, nil}, "option 2 is nil"},
		"nil revoker":            {nil, []GlobalOption{allow, resolve}, "nil SubjectRevoker"},
		"nil *revoke.Revoker":    {(*revoke.Revoker)(nil), []GlobalOption{allow, resolve}, "nil SubjectRevoker"},
	} {
		h, err := NewGlobalRevocationHandler(c.rv, c.opts...)
		if !errors.Is(err, ErrInvalidOption) || h != nil {
			t.Errorf("%s: %v, %v; want ErrInvalidOption", name, h, err)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %q does not name %s", name, err, c.want)
		}
	}
}
