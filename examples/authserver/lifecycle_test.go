package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// newObservedServer is newTestServer with the options of run: an audit
// observer (which also turns on check counting) and opts.
func newObservedServer(t *testing.T, opts ...revoke.Option) client {
	log := slog.New(slog.DiscardHandler)
	rev, err := revoke.New(memory.New(), append([]revoke.Option{revoke.WithObserver(audit(log))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rev.Close() })
	srv := httptest.NewServer(mustServer(t, rev, log, endpoints{}))
	t.Cleanup(srv.Close)
	return client{t: t, base: srv.URL}
}

// token posts form to the DEMO token endpoint.
func (c client) token(form url.Values) (response, tokenResponse) {
	c.t.Helper()
	r := c.do("POST", "/demo/token", "application/x-www-form-urlencoded", form.Encode(), "")
	var tok tokenResponse
	if r.status == http.StatusOK {
		if err := json.Unmarshal([]byte(r.body), &tok); err != nil {
			c.t.Fatalf("token: %v", err)
		}
	}
	return r, tok
}

func (c client) refresh(refreshToken, clientID string) (response, tokenResponse) {
	c.t.Helper()
	return c.token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}, "clientId": {clientID}})
}

// TestCurlRotationSession runs the README's rotation session: a refresh,
// then a reuse of the rotated token that kills the grant, then a log out
// everywhere, then the metrics.
func TestCurlRotationSession(t *testing.T) {
	c := newObservedServer(t)
	_, t1 := c.token(url.Values{"clientId": {"my-app"}})
	r, t2 := c.refresh(t1.RefreshToken, "my-app")
	if r.status != http.StatusOK || t2.RefreshToken == t1.RefreshToken || t2.AccessToken == "" {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	if r := c.protected(t2.AccessToken); r.status != http.StatusOK {
		t.Fatalf("protected with the refreshed token: %d %s", r.status, r.body)
	}
	// The old refresh token presented again: reuse.
	r, _ = c.refresh(t1.RefreshToken, "my-app")
	if r.status != http.StatusBadRequest || r.body != `{"error":"invalid_grant","error_description":"refresh token reused: the grant is revoked"}` {
		t.Fatalf("reuse: %d %s", r.status, r.body)
	}
	for _, tok := range []string{t1.AccessToken, t2.AccessToken} {
		if r := c.protected(tok); r.status != http.StatusUnauthorized {
			t.Errorf("protected after reuse: %d %s", r.status, r.body)
		}
	}
	if r, _ := c.refresh(t2.RefreshToken, "my-app"); r.status != http.StatusBadRequest || !strings.Contains(r.body, "invalid_grant") {
		t.Errorf("refresh with the newest token after reuse: %d %s", r.status, r.body)
	}

	// Log out everywhere: alice's grants on two clients.
	_, web := c.token(url.Values{"clientId": {"web"}, "subject": {"alice"}})
	_, phone := c.token(url.Values{"clientId": {"phone"}, "subject": {"alice"}})
	_, bob := c.token(url.Values{"clientId": {"web"}, "subject": {"bob"}})
	r = c.do("POST", "/demo/logout-everywhere", "application/x-www-form-urlencoded", "subject=alice", "")
	if r.status != http.StatusOK || r.body != `{"revoked":4}` {
		t.Fatalf("logout-everywhere: %d %s", r.status, r.body)
	}
	for _, tok := range []string{web.AccessToken, phone.AccessToken} {
		if r := c.protected(tok); r.status != http.StatusUnauthorized {
			t.Errorf("alice's token after logout-everywhere: %d", r.status)
		}
	}
	if r := c.protected(bob.AccessToken); r.status != http.StatusOK {
		t.Errorf("bob's token after alice's logout-everywhere: %d", r.status)
	}

	r = c.do("GET", "/metrics", "", "", "")
	if r.status != http.StatusOK {
		t.Fatalf("metrics: %d", r.status)
	}
	for _, want := range []string{
		`revocation_checks_total{result="live"} 2`,
		`revocation_checks_total{result="revoked"} 4`,
		`revocations_total{reason="reuse"} 4`,
		`revocations_total{reason="subject"} 4`,
		`revocations_total{reason="direct"} 0`,
		`refresh_reuse_detected_total 1`,
		`revocation_index_entries 8`,
		`revocation_sync_lag_seconds 0`,
	} {
		if !strings.Contains(r.body+"\n", want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, r.body)
		}
	}
}

// TestRefreshGrace: with -reuse-grace, the previous refresh token presented
// again within the window rotates again; the token it replaced is then
// reuse.
func TestRefreshGrace(t *testing.T) {
	c := newObservedServer(t, revoke.WithRotation(revoke.RotationPolicy{ReuseGrace: time.Minute, GraceRetries: revoke.DefaultGraceRetries}))
	_, t1 := c.token(url.Values{"clientId": {"my-app"}})
	_, lost := c.refresh(t1.RefreshToken, "my-app") // the response is lost
	r, t3 := c.refresh(t1.RefreshToken, "my-app")
	if r.status != http.StatusOK {
		t.Fatalf("retry within the grace window: %d %s", r.status, r.body)
	}
	if r := c.protected(t3.AccessToken); r.status != http.StatusOK {
		t.Fatalf("protected after the retry: %d", r.status)
	}
	if r, _ := c.refresh(lost.RefreshToken, "my-app"); r.status != http.StatusBadRequest || !strings.Contains(r.body, "reused") {
		t.Fatalf("the superseded token: %d %s", r.status, r.body)
	}
	if r := c.protected(t3.AccessToken); r.status != http.StatusUnauthorized {
		t.Errorf("protected after the superseded token's reuse: %d", r.status)
	}
}

func TestTokenEndpointRefusals(t *testing.T) {
	c := newObservedServer(t)
	_, t1 := c.token(url.Values{"clientId": {"my-app"}})
	for _, form := range []url.Values{
		{"grant_type": {"refresh_token"}},
		{"grant_type": {"client_credentials"}},
		{"grant_type": {"refresh_token"}, "refresh_token": {"never-issued"}},
		{"grant_type": {"refresh_token"}, "refresh_token": {t1.RefreshToken}, "clientId": {"other-app"}},
		{"grant_type": {"refresh_token"}, "refresh_token": {t1.AccessToken}, "clientId": {"my-app"}},
	} {
		if r, _ := c.token(form); r.status != http.StatusBadRequest || !strings.Contains(r.body, `"error":"`) {
			t.Errorf("token %v: %d %s", form, r.status, r.body)
		}
	}
	// None of those spent the refresh token.
	if r, _ := c.refresh(t1.RefreshToken, "my-app"); r.status != http.StatusOK {
		t.Errorf("refresh after refused requests: %d %s", r.status, r.body)
	}
}

func TestReuseGraceFlag(t *testing.T) {
	cfg, err := parseFlags([]string{"-reuse-grace", "30s"}, io.Discard)
	if err != nil || cfg.reuseGrace != 30*time.Second {
		t.Fatalf("parseFlags(-reuse-grace 30s) = %+v, %v", cfg, err)
	}
}
