package httpadapter_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
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
	h := httpadapter.NewHandler(f.rev)
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
	h := httpadapter.NewHandler(f.rev, httpadapter.WithCORS(httpadapter.CORS{
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
	// A preflight from another origin, or for another method, is a plain
	// OPTIONS: 405, no CORS grant.
	for _, req := range []*http.Request{preflightRequest("https://evil.example"), preflightRequest("https://app.example.evil")} {
		rec := serve(t, h, req)
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight from %s: %d, ACAO %q", req.Header.Get("Origin"), rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
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
	// Another origin's request is served (CORS does not gate it) but not
	// granted.
	rec = serve(t, h, formFrom("https://evil.example", url.Values{"token": {accessA2}, "client_id": {"client-a"}}))
	if rec.Code != http.StatusOK || rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Header().Get("Vary") != "Origin" {
		t.Errorf("other origin: %d, headers %v", rec.Code, rec.Header())
	}
}

func TestCORSPerClient(t *testing.T) {
	f := newFixture(t)
	allowed := map[string]string{"client-a": "https://a.example", "client-b": "https://b.example"}
	h := httpadapter.NewHandler(f.rev, httpadapter.WithCORS(httpadapter.CORS{
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
	rec = serve(t, h, formFrom("https://b.example", url.Values{"token": {accessA1}, "client_id": {"client-a"}}))
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Error("client-a's answer granted to client-b's origin")
	}
	rec = serve(t, h, formFrom("https://a.example", url.Values{"token": {accessA2}, "client_id": {"client-a"}}))
	if rec.Header().Get("Access-Control-Allow-Origin") != "https://a.example" {
		t.Error("client-a's answer not granted to its origin")
	}
}

func TestCORSPanics(t *testing.T) {
	for name, fn := range map[string]func(){
		"nil AllowOrigin": func() { httpadapter.WithCORS(httpadapter.CORS{}) },
		"negative MaxAge": func() { httpadapter.WithCORS(httpadapter.CORS{AllowOrigin: httpadapter.AllowOrigins(), MaxAge: -1}) },
		"MaxAge over 24h": func() {
			httpadapter.WithCORS(httpadapter.CORS{AllowOrigin: httpadapter.AllowOrigins(), MaxAge: 25 * time.Hour})
		},
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
