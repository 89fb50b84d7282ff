package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestStandardClientSession runs the README's "Standard OAuth clients"
// session: the server with -clients, -secret-post, -public and
// -cors-origins, a form revocation with Basic credentials, the preflight of
// a browser page, and a page of another origin refused.
func TestStandardClientSession(t *testing.T) {
	c, _, _ := start(t, "-store", "memory", "-clients", "my-app=s3cr3t+/=", "-secret-post", "-public", "spa", "-cors-origins", "https://app.example")
	tok := c.mint("my-app")
	form := url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}}.Encode()
	send := func(user, pass string) *http.Response {
		req, _ := http.NewRequest("POST", c.base+"/v1/auth/token/revoke", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if user != "" {
			req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := send("", ""); res.StatusCode != http.StatusUnauthorized || res.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no credentials: %d", res.StatusCode)
	}
	if res := send("my-app", "wrong"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d", res.StatusCode)
	}
	if r := c.protected(tok.AccessToken); r.status != http.StatusOK {
		t.Fatalf("revoked by a refused request: %d", r.status)
	}
	if res := send("my-app", "s3cr3t+/="); res.StatusCode != http.StatusOK {
		t.Fatalf("Basic: %d", res.StatusCode)
	}
	if r := c.protected(tok.AccessToken); r.status != http.StatusUnauthorized {
		t.Fatalf("access token after its refresh token was revoked: %d", r.status)
	}
	// A public client's page, cross-origin.
	req, _ := http.NewRequest("OPTIONS", c.base+"/v1/auth/token/revoke", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("preflight: %d %v", res.StatusCode, res.Header)
	}
	// A page of another origin: its simple form POST is refused, and the
	// public client's token stays live.
	spa := c.mint("spa")
	form = url.Values{"token": {spa.RefreshToken}, "client_id": {"spa"}}.Encode()
	req, _ = http.NewRequest("POST", c.base+"/v1/auth/token/revoke", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("form POST from another origin: %d %v", res.StatusCode, res.Header)
	}
	if r := c.protected(spa.AccessToken); r.status != http.StatusOK {
		t.Fatalf("revoked from another origin: %d", r.status)
	}
}

// TestSecretPostSession runs the README's client_secret_post commands: the
// server with -clients and -secret-post takes the client's credentials in
// the form body as well as in the Basic header, and refuses both at once;
// without -secret-post the body's secret is not accepted.
func TestSecretPostSession(t *testing.T) {
	const secret = "s3cr3t+/="
	c, _, _ := start(t, "-store", "memory", "-clients", "my-app="+secret, "-secret-post")
	send := func(c client, form url.Values, basicUser, basicPass string) response {
		t.Helper()
		req, _ := http.NewRequest("POST", c.base+"/v1/auth/token/revoke", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basicUser != "" {
			req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return response{status: res.StatusCode, header: res.Header, body: string(b)}
	}
	post := func(tok, clientSecret string) url.Values {
		return url.Values{"token": {tok}, "token_type_hint": {"refresh_token"}, "client_id": {"my-app"}, "client_secret": {clientSecret}}
	}
	tok, tok2 := c.mint("my-app"), c.mint("my-app")
	if r := send(c, post(tok.RefreshToken, "wrong"), "", ""); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "invalid_client") {
		t.Fatalf("client_secret_post, wrong secret: %d %s", r.status, r.body)
	}
	// Both methods in one request: invalid_request, even with the right
	// secret in both.
	if r := send(c, post(tok.RefreshToken, secret), "my-app", secret); r.status != http.StatusBadRequest || !strings.Contains(r.body, "invalid_request") {
		t.Fatalf("Basic and client_secret: %d %s", r.status, r.body)
	}
	if r := c.protected(tok.AccessToken); r.status != http.StatusOK {
		t.Fatalf("revoked by a refused request: %d", r.status)
	}
	if r := send(c, post(tok.RefreshToken, secret), "", ""); r.status != http.StatusOK {
		t.Fatalf("client_secret_post: %d %s", r.status, r.body)
	}
	if r := c.protected(tok.AccessToken); r.status != http.StatusUnauthorized {
		t.Fatalf("access token after client_secret_post revoked its grant: %d", r.status)
	}
	// Basic still works.
	if r := send(c, url.Values{"token": {tok2.RefreshToken}}, "my-app", secret); r.status != http.StatusOK {
		t.Fatalf("Basic: %d %s", r.status, r.body)
	}

	// Without -secret-post.
	c, _, _ = start(t, "-store", "memory", "-clients", "my-app="+secret)
	tok = c.mint("my-app")
	if r := send(c, post(tok.RefreshToken, secret), "", ""); r.status != http.StatusUnauthorized {
		t.Fatalf("client_secret_post without -secret-post: %d %s", r.status, r.body)
	}
}

func TestAuthFlagErrors(t *testing.T) {
	for _, a := range []authFlags{
		{clients: "no-secret"},
		{clients: "=x"},
		{public: "spa"},
		{secretPost: true},
		{origins: "app.example"},
	} {
		if _, err := a.options(); err == nil {
			t.Errorf("%+v: no error", a)
		}
	}
}
