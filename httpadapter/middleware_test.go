package httpadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/jwtkey"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// nextHandler marks the responses of the wrapped handler.
var nextHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Next", "called")
	w.WriteHeader(http.StatusTeapot)
})

// serveMiddleware runs req through h, a handler wrapped by the Middleware,
// and checks every response the middleware writes itself: the common
// headers, and a body valid against the Error schema of httpadapter.OpenAPI.
func serveMiddleware(t testing.TB, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Header().Get("X-Next") != "" || rec.Code == http.StatusOK {
		return rec // the wrapped handler's response
	}
	if err := checkHeaders(rec.Header(), true); err != nil {
		t.Fatalf("middleware response %d: %v; body %s", rec.Code, err, rec.Body)
	}
	var v any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	schema := project(t).doc.Components.Schemas["Error"].Value
	if err := schema.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		t.Fatalf("middleware response %d does not match the Error schema: %v", rec.Code, err)
	}
	if m, _ := v.(map[string]any); len(m) != 1 || m["message"] == "" {
		t.Fatalf("middleware response %d: body %s, want only a message", rec.Code, rec.Body)
	}
	return rec
}

func bearerRequest(auth ...string) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "http://example.com/protected", nil)
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	return req
}

func TestMiddleware(t *testing.T) {
	f := newFixture(t)
	if _, err := f.rev.Revoke(context.Background(), accessA1, "client-a"); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	h := newMiddleware(t, f.rev, httpadapter.WithLogger(newLogger(&logs)))(nextHandler)
	revoked := `Bearer error="invalid_token", error_description="The access token has been revoked"`
	malformed := `Bearer error="invalid_request", error_description="Malformed Bearer credentials"`
	for _, tc := range []struct {
		name      string
		auth      []string
		status    int
		challenge string
	}{
		{"no Authorization", nil, http.StatusTeapot, ""},
		{"live token", []string{"Bearer " + accessA2}, http.StatusTeapot, ""},
		{"unknown token", []string{"Bearer never-issued"}, http.StatusTeapot, ""},
		{"revoked token", []string{"Bearer " + accessA1}, http.StatusUnauthorized, revoked},
		{"scheme lower case", []string{"bearer " + accessA1}, http.StatusUnauthorized, revoked},
		{"scheme upper case", []string{"BEARER " + accessA1}, http.StatusUnauthorized, revoked},
		{"several spaces", []string{"Bearer   " + accessA1}, http.StatusUnauthorized, revoked},
		{"tab", []string{"Bearer\t" + accessA1}, http.StatusUnauthorized, revoked},
		{"Basic passes", []string{"Basic Y2xpZW50OnNlY3JldA=="}, http.StatusTeapot, ""},
		{"Basic with a revoked token passes", []string{"Basic " + accessA1}, http.StatusTeapot, ""},
		{"DPoP passes", []string{"DPoP " + accessA1}, http.StatusTeapot, ""},
		{"other scheme with prefix", []string{"BearerX " + accessA1}, http.StatusTeapot, ""},
		{"empty value", []string{""}, http.StatusTeapot, ""},
		{"scheme alone", []string{"Bearer"}, http.StatusBadRequest, malformed},
		{"scheme and spaces", []string{"Bearer   "}, http.StatusBadRequest, malformed},
		{"space in token", []string{"Bearer " + accessA2 + " x"}, http.StatusBadRequest, malformed},
		{"two tokens in one field", []string{"Bearer " + accessA2 + ", Bearer " + accessA1}, http.StatusBadRequest, malformed},
		{"two fields", []string{"Bearer " + accessA2, "Bearer " + accessA1}, http.StatusBadRequest, malformed},
		{"two fields, one Bearer", []string{"Basic abc", "Bearer " + accessA2}, http.StatusBadRequest, malformed},
		{"two fields, no Bearer", []string{"Basic abc", "Basic def"}, http.StatusTeapot, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serveMiddleware(t, h, bearerRequest(tc.auth...))
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.challenge)
			}
			called := rec.Header().Get("X-Next") != ""
			if called != (tc.status == http.StatusTeapot) {
				t.Errorf("wrapped handler called = %v", called)
			}
			if strings.Contains(rec.Body.String(), accessA1) {
				t.Errorf("response echoes the token: %s", rec.Body)
			}
		})
	}
	if logs.String() != "" {
		t.Errorf("logged without an error: %s", logs.String())
	}
}

// checkerFunc adapts a function to httpadapter.Checker.
type checkerFunc func(ctx context.Context, token string) (bool, error)

func (f checkerFunc) IsRevoked(ctx context.Context, token string) (bool, error) { return f(ctx, token) }

func TestMiddlewareFailsClosed(t *testing.T) {
	var logs logBuffer
	h := newMiddleware(t, checkerFunc(func(context.Context, string) (bool, error) {
		return false, errors.New("index unavailable")
	}), httpadapter.WithLogger(newLogger(&logs)))(nextHandler)
	rec := serveMiddleware(t, h, bearerRequest("Bearer abc"))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", rec.Code)
	}
	if got := rec.Header().Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After = %q, want 5", got)
	}
	if rec.Header().Get("X-Next") != "" {
		t.Error("wrapped handler called")
	}
	if !strings.Contains(logs.String(), "index unavailable") {
		t.Errorf("checker error not logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), "abc") {
		t.Errorf("token logged: %s", logs.String())
	}
	// Requests without a bearer token do not consult the checker.
	if rec := serveMiddleware(t, h, bearerRequest()); rec.Code != http.StatusTeapot {
		t.Fatalf("no Authorization: status = %d", rec.Code)
	}
}

// TestMiddlewareRefusedKey: a token the Revoker's key function refuses is
// turned away as an invalid token, not let through and not a 503.
func TestMiddlewareRefusedKey(t *testing.T) {
	rev, err := revoke.New(memory.New(), revoke.WithTokenKey(jwtkey.Key))
	if err != nil {
		t.Fatal(err)
	}
	defer rev.Close()
	h := newMiddleware(t, rev, httpadapter.WithRetryAfter(30*time.Second))(nextHandler)
	rec := serveMiddleware(t, h, bearerRequest("Bearer not-a-jwt"))
	if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("status = %d, WWW-Authenticate %q; want 401 invalid_token", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
	_ = rev.Close()
	if rec := serveMiddleware(t, h, bearerRequest("Bearer a.b.c")); rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "30" {
		t.Fatalf("closed: status %d, Retry-After %q; want 503, 30", rec.Code, rec.Header().Get("Retry-After"))
	}
}

func TestMiddlewareClosedRevokerFailsClosed(t *testing.T) {
	f := newFixture(t)
	h := newMiddleware(t, f.rev)(nextHandler)
	_ = f.rev.Close()
	if rec := serveMiddleware(t, h, bearerRequest("Bearer "+accessA2)); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", rec.Code)
	}
}

func TestMiddlewarePassesRequestThrough(t *testing.T) {
	type key struct{}
	var got *http.Request
	h := newMiddleware(t, checkerFunc(func(ctx context.Context, token string) (bool, error) {
		if ctx.Value(key{}) != "v" || token != "tok" {
			t.Errorf("IsRevoked(%v, %q)", ctx.Value(key{}), token)
		}
		return false, nil
	}))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r }))
	req := bearerRequest("Bearer tok")
	req = req.WithContext(context.WithValue(req.Context(), key{}, "v"))
	h.ServeHTTP(httptest.NewRecorder(), req)
	if got != req {
		t.Error("the wrapped handler did not get the request as it came")
	}
}

// TestMiddlewarePanicsOnNilNext checks that the function Middleware
// returns panics when it is given no handler to wrap, a mistake in the
// wiring that no request should find.
func TestMiddlewarePanicsOnNilNext(t *testing.T) {
	mw := newMiddleware(t, checkerFunc(nil))
	defer func() {
		if recover() == nil {
			t.Error("wrapping a nil handler did not panic")
		}
	}()
	mw(nil)
}

// nopWriter is a ResponseWriter that allocates nothing.
type nopWriter struct{ h http.Header }

func (w nopWriter) Header() http.Header         { return w.h }
func (w nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w nopWriter) WriteHeader(int)             {}

func TestMiddlewareAllocations(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts are not meaningful under -cover or -race")
	}
	f := newFixture(t)
	if _, err := f.rev.Revoke(context.Background(), refreshA, "client-a"); err != nil {
		t.Fatal(err)
	}
	h := newMiddleware(t, f.rev)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	w := nopWriter{h: http.Header{}}
	for _, tc := range []struct{ name, auth string }{
		{"no Authorization", ""},
		{"live token", "Bearer " + accessA3},
		{"unknown token", "Bearer never-issued-token"},
		{"Basic", "Basic Y2xpZW50OnNlY3JldA=="},
	} {
		req := bearerRequest()
		if tc.auth != "" {
			req = bearerRequest(tc.auth)
		}
		if n := testing.AllocsPerRun(1000, func() { h.ServeHTTP(w, req) }); n != 0 {
			t.Errorf("%s: %v allocations per request, want 0", tc.name, n)
		}
	}
}

func BenchmarkMiddleware(b *testing.B) {
	f := newFixture(b)
	h := newMiddleware(b, f.rev)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := bearerRequest("Bearer " + accessA3)
	w := nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
