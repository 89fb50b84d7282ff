package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/revoke"
)

// mustServer is newServer, failing the test on error.
func mustServer(t *testing.T, rev *revoke.Revoker, log *slog.Logger, e endpoints) http.Handler {
	t.Helper()
	h, err := newServer(rev, log, e)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// introspect posts token to the introspection endpoint as client user
// (HTTP Basic with pass; no Authorization header when user is ""), with
// the form parameters extra.
func (c client) introspect(user, pass, token string, extra url.Values) response {
	c.t.Helper()
	form := url.Values{"token": {token}}
	for k, v := range extra {
		form[k] = v
	}
	req, err := http.NewRequest("POST", c.base+httpadapter.IntrospectionPath, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: strings.TrimSpace(string(body))}
}

// TestIntrospectionSession runs the server with -clients: a resource
// server introspects a live access token (active), the token's refresh
// token is revoked (inactive), and callers without credentials, with wrong
// ones or as a public client learn nothing.
func TestIntrospectionSession(t *testing.T) {
	c, _, _ := start(t, "-store", "memory", "-clients", "my-app=s3cr3t+/=,api=api-s3cret", "-public", "spa")
	tok := c.mint("my-app")

	r := c.introspect("api", "api-s3cret", tok.AccessToken, url.Values{"token_type_hint": {"access_token"}})
	var got struct {
		Active    bool   `json:"active"`
		ClientID  string `json:"client_id"`
		Subject   string `json:"sub"`
		Expiry    int64  `json:"exp"`
		TokenType string `json:"token_type"`
		TokenUse  string `json:"token_use"`
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.status != http.StatusOK {
		t.Fatalf("introspecting a live token: %d %s (%v)", r.status, r.body, err)
	}
	if !got.Active || got.ClientID != "my-app" || got.Subject != demoSubject || got.Expiry == 0 ||
		got.TokenType != "Bearer" || got.TokenUse != "access_token" {
		t.Errorf("live access token: %s", r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}

	// The client revokes its refresh token (RFC 7009, HTTP Basic).
	req, _ := http.NewRequest("POST", c.base+httpadapter.Path, strings.NewReader(url.Values{"token": {tok.RefreshToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("my-app", url.QueryEscape("s3cr3t+/="))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	for _, token := range []string{tok.AccessToken, tok.RefreshToken, "made-up"} {
		if r := c.introspect("api", "api-s3cret", token, nil); r.status != http.StatusOK || r.body != `{"active":false}` {
			t.Errorf("after the revocation: %d %s, want 200 {\"active\":false}", r.status, r.body)
		}
	}

	live := c.mint("my-app")
	for name, r := range map[string]response{
		"no credentials":     c.introspect("", "", live.AccessToken, nil),
		"wrong secret":       c.introspect("api", "wrong", live.AccessToken, nil),
		"a public client":    c.introspect("spa", "", live.AccessToken, nil),
		"a public client_id": c.introspect("", "", live.AccessToken, url.Values{"client_id": {"spa"}}),
	} {
		if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" || strings.Contains(r.body, "my-app") {
			t.Errorf("%s: %d %s, want 401 with WWW-Authenticate", name, r.status, r.body)
		}
	}
}

// TestIntrospectionNeedsClients checks that the server without -clients
// serves no introspection endpoint: it would answer anonymous callers.
func TestIntrospectionNeedsClients(t *testing.T) {
	c, _ := newTestServer(t)
	tok := c.mint("my-app")
	if r := c.introspect("", "", tok.AccessToken, nil); r.status != http.StatusNotFound {
		t.Errorf("introspection without -clients: %d %s, want 404", r.status, r.body)
	}
}

// TestProtectedRequiresIssuedTokens checks that the demo API turns away a
// bearer token the server never issued, and its refresh tokens.
func TestProtectedRequiresIssuedTokens(t *testing.T) {
	c, _ := newTestServer(t)
	tok := c.mint("my-app")
	if r := c.protected(tok.AccessToken); r.status != http.StatusOK {
		t.Fatalf("issued access token: %d %s", r.status, r.body)
	}
	for name, token := range map[string]string{"made up": newToken(), "refresh token": tok.RefreshToken} {
		r := c.protected(token)
		if r.status != http.StatusUnauthorized || !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("%s: %d %s, want 401 invalid_token", name, r.status, r.body)
		}
	}
}
