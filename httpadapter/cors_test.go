package httpadapter_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/httpadapter"
)

func preflightRequest(origin string) *http.Request {
	req := newRequest(http.MethodOptions, "", "")
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	return req
}

func formFrom(origin string, v url.Values) *http.Request {
	req := newRequest(http.MethodPost, formCT, v.Encode())
	req.Header.Set("Origin", origin)
	return req
}

var corsHeaders = []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
	"Access-Control-Max-Age", "Access-Control-Expose-Headers", "Vary"}

func TestNoCORSUnlessConfigured(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev)
	rec := serve(t, h, preflightRequest("https://app.example"))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("preflight without CORS: %d, want 405", rec.Code)
	}
	rec2 := serve(t, h, formFrom("https://app.example", url.Values{"token": {accessA1}, "client_id": {"client-a"}}))
	for _, hd := range corsHeaders {
		if rec.Header().Get(hd) != "" || rec2.Header().Get(hd) != "" {
			t.Errorf("%s sent without CORS configured", hd)
		}
	}
}

func TestCORS(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev, httpadapter.WithCORS(httpadapter.CORS{
		AllowOrigin: httpadapter.AllowOrigins("https://app.example", "http://localhost:3000"),
		MaxAge:      time.Hour,
	}))
	// The preflight.
	req := preflightRequest("https://APP.example")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	want := map[string]string{
		"Access-Control-Allow-Origin":  "https://APP.example",
		"Access-Control-Allow-Methods": "POST",
		"Access-Control-Allow-Headers": "Authorization, Content-Type",
		"Access-Control-Max-Age":       "3600",
		"Vary":                         "Origin",
		"Cache-Control":                "no-store",
	}
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("preflight: %d %q, want 204 and no body", rec.Code, rec.Body)
	}
	for k, v := range want {
		if got := rec.Header().Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("preflight %s = %q, want %q", k, got, v)
		}
	}
	// A preflight from another origin is refused, saying why; one for
	// another method is a plain OPTIONS: 405. Neither is granted.
	for _, req := range []*http.Request{preflightRequest("https://evil.example"), preflightRequest("https://app.example.evil")} {
		rec := serve(t, h, req)
		if rec.Code != http.StatusForbidden || rec.Header().Get("Access-Control-Allow-Origin") != "" ||
			!strings.Contains(message(t, rec), "origin not allowed") {
			t.Errorf("preflight from %s: %d %s, ACAO %q; want 403, origin not allowed", req.Header.Get("Origin"), rec.Code, rec.Body, rec.Header().Get("Access-Control-Allow-Origin"))
		}
	}
	req = preflightRequest("https://app.example")
	req.Header.Set("Access-Control-Request-Method", "PUT")
	if rec := serve(t, h, req); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("preflight for PUT: %d, want 405", rec.Code)
	}
	// The request itself, and its errors, readable by the allowed origin.
	for _, v := range []url.Values{{"token": {accessA1}, "client_id": {"client-a"}}, {"client_id": {"client-a"}}, {"token": {accessA1}}} {
		rec := serve(t, h, formFrom("http://localhost:3000", v))
		if rec.Header().Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
			rec.Header().Get("Access-Control-Expose-Headers") != "WWW-Authenticate, Retry-After" ||
			rec.Header().Get("Vary") != "Origin" {
			t.Errorf("status %d from an allowed origin: headers %v", rec.Code, rec.Header())
		}
	}
}

// TestCORSRefusesOtherOrigins: with CORS configured, a request whose Origin
// is not allowed is refused with 403 in the endpoint's error format and
// revokes nothing, in both dialects and for any method; a request without
// an Origin (a server, curl) is served.
func TestCORSRefusesOtherOrigins(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev, httpadapter.WithCORS(httpadapter.CORS{
		AllowOrigin: httpadapter.AllowOrigins("https://app.example"),
	}))
	// The simple form POST a page of another origin can send without a
	// preflight.
	for _, origin := range []string{"https://evil.example", "null", "", "https://app.example:8443"} {
		rec := serve(t, h, formFrom(origin, url.Values{"token": {accessA1}, "client_id": {"client-a"}}))
		if rec.Code != http.StatusForbidden || oauthError(t, rec) != "invalid_request" ||
			rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Header().Get("Vary") != "Origin" {
			t.Errorf("form from %q: %d %s, headers %v; want 403 invalid_request", origin, rec.Code, rec.Body, rec.Header())
		}
	}
	// Two Origin headers, one of them allowed.
	req := formFrom("https://evil.example", url.Values{"token": {accessA1}, "client_id": {"client-a"}})
	req.Header.Add("Origin", "https://app.example")
	if rec := serve(t, h, req); rec.Code != http.StatusForbidden {
		t.Errorf("two Origin headers: %d, want 403", rec.Code)
	}
	// The JSON dialect, another method, another media type.
	for _, req := range []*http.Request{
		newRequest(http.MethodPost, "application/json", jsonBody(accessA1, "client-a")),
		newRequest(http.MethodGet, "", ""),
		newRequest(http.MethodPost, "text/plain", "token="+accessA1),
	} {
		req.Header.Set("Origin", "https://evil.example")
		rec := serve(t, h, req)
		if rec.Code != http.StatusForbidden || !strings.Contains(message(t, rec), "origin not allowed") {
			t.Errorf("%s %s from another origin: %d %s, want 403 origin not allowed", req.Method, req.Header.Get("Content-Type"), rec.Code, rec.Body)
		}
	}
	if f.revoked(t, accessA1) {
		t.Fatal("a request from a disallowed origin revoked the token")
	}
	// Without an Origin header, and from the allowed origin: served.
	if rec := postForm(t, h, url.Values{"token": {accessA1}, "client_id": {"client-a"}}); rec.Code != http.StatusOK || !f.revoked(t, accessA1) {
		t.Fatalf("no Origin: %d, want 200 and revoked", rec.Code)
	}
	if rec := serve(t, h, formFrom("https://app.example", url.Values{"token": {accessA2}, "client_id": {"client-a"}})); rec.Code != http.StatusOK || !f.revoked(t, accessA2) {
		t.Fatalf("allowed origin: %d, want 200 and revoked", rec.Code)
	}
}

func TestCORSPerClient(t *testing.T) {
	f := newFixture(t)
	allowed := map[string]string{"client-a": "https://a.example", "client-b": "https://b.example"}
	h := newHandler(t, f.rev, httpadapter.WithCORS(httpadapter.CORS{
		AllowOrigin: func(origin, clientID string) bool {
			if clientID == "" { // preflight: any client's origin
				return origin == allowed["client-a"] || origin == allowed["client-b"]
			}
			return allowed[clientID] == origin
		},
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, preflightRequest("https://b.example"))
	if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Max-Age") != "600" {
		t.Fatalf("preflight: %d, Max-Age %q; want 204, 600", rec.Code, rec.Header().Get("Access-Control-Max-Age"))
	}
	// client-b's origin, client-a's request: refused once the client is
	// known, and not granted.
	rec = serve(t, h, formFrom("https://b.example", url.Values{"token": {accessA1}, "client_id": {"client-a"}}))
	if rec.Code != http.StatusForbidden || oauthError(t, rec) != "invalid_request" || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("client-a's request from client-b's origin: %d %s, ACAO %q; want 403, not granted",
			rec.Code, rec.Body, rec.Header().Get("Access-Control-Allow-Origin"))
	}
	if f.revoked(t, accessA1) {
		t.Error("client-a's token revoked from client-b's origin")
	}
	rec = serve(t, h, formFrom("https://a.example", url.Values{"token": {accessA2}, "client_id": {"client-a"}}))
	if rec.Header().Get("Access-Control-Allow-Origin") != "https://a.example" {
		t.Error("client-a's answer not granted to its origin")
	}
}

// TestCORSRefuses checks that a CORS configuration NewHandler cannot serve
// is an error of NewHandler naming WithCORS.
func TestCORSRefuses(t *testing.T) {
	f := newFixture(t)
	for name, c := range map[string]httpadapter.CORS{
		"nil AllowOrigin": {},
		"negative MaxAge": {AllowOrigin: httpadapter.AllowOrigins(), MaxAge: -1},
		"MaxAge over 24h": {AllowOrigin: httpadapter.AllowOrigins(), MaxAge: 24*time.Hour + time.Second},
	} {
		h, err := httpadapter.NewHandler(f.rev, httpadapter.WithCORS(c))
		if !errors.Is(err, httpadapter.ErrInvalidOption) || h != nil || !strings.Contains(err.Error(), "WithCORS") {
			t.Errorf("%s: NewHandler = %v, %v; want an error wrapping ErrInvalidOption naming WithCORS", name, h, err)
		}
	}
	for _, d := range []time.Duration{0, 24 * time.Hour} {
		newHandler(t, f.rev, httpadapter.WithCORS(httpadapter.CORS{AllowOrigin: httpadapter.AllowOrigins(), MaxAge: d}))
	}
}

// TestAllowOriginsPanics checks that AllowOrigins takes serialized origins
// only.
func TestAllowOriginsPanics(t *testing.T) {
	for name, fn := range map[string]func(){
		"wildcard":     func() { httpadapter.AllowOrigins("*") },
		"path":         func() { httpadapter.AllowOrigins("https://a.example/") },
		"no scheme":    func() { httpadapter.AllowOrigins("a.example") },
		"other scheme": func() { httpadapter.AllowOrigins("ftp://a.example") },
		"user info":    func() { httpadapter.AllowOrigins("https://u@a.example") },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			fn()
		}()
	}
}

// TestCORSKeepsOuterVary mounts the endpoint behind a handler that sets a
// Vary of its own (a compressing middleware's Accept-Encoding): the
// response varies by both, Origin once.
func TestCORSKeepsOuterVary(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev, httpadapter.WithCORS(httpadapter.CORS{AllowOrigin: httpadapter.AllowOrigins("https://app.example")}))
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		h.ServeHTTP(w, r)
	})
	for _, req := range []*http.Request{preflightRequest("https://app.example"), newRequest(http.MethodPost, "application/json", jsonBody(accessA1, "client-a"))} {
		req.Header.Set("Origin", "https://app.example")
		rec := httptest.NewRecorder()
		outer.ServeHTTP(rec, req)
		if got := rec.Header().Values("Vary"); !slices.Equal(got, []string{"Accept-Encoding", "Origin"}) {
			t.Errorf("%s: Vary = %q, want [Accept-Encoding Origin]", req.Method, got)
		}
	}
}
