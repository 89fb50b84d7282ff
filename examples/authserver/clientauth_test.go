package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestStandardClientSession runs the README's "Standard OAuth clients"
// session: the server with -clients, -public and -cors-origins, a form
// revocation with Basic credentials, the preflight of a browser page.
func TestStandardClientSession(t *testing.T) {
	c, _, _ := start(t, "-store", "memory", "-clients", "my-app=s3cr3t+/=", "-public", "spa", "-cors-origins", "https://app.example")
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
}

func TestAuthFlagErrors(t *testing.T) {
	for _, a := range []authFlags{
		{clients: "no-secret"},
		{clients: "=x"},
		{public: "spa"},
		{origins: "app.example"},
	} {
		if _, err := a.options(); err == nil {
			t.Errorf("%+v: no error", a)
		}
	}
}
