package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/follow"
	"github.com/sdkauth/revocation/httpadapter"
)

const testFeedSecret = "feed-s3cret-0123456789"

// feedGet sends a GET of the feed with the Authorization header auth (none
// when empty) and returns the response without reading its body further
// than a refusal's.
func (c client) feedGet(auth string) response {
	c.t.Helper()
	req, err := http.NewRequest("GET", c.base+httpadapter.FeedPath, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", httpadapter.FeedContentType)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	r := response{status: res.StatusCode, header: res.Header}
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		r.body = strings.TrimSpace(string(b))
	}
	return r
}

// followServer returns a follower of c's feed, closed at the end of the
// test.
func followServer(t *testing.T, c client, opts ...follow.Option) *follow.Checker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f, err := follow.New(ctx, c.base+httpadapter.FeedPath, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// TestFeedRequiresCredentials: the feed is served only with -feed-secret or
// -clients, and then only to followers presenting the secret or a client's
// credentials; every other request gets 401 and no revocation.
func TestFeedRequiresCredentials(t *testing.T) {
	c, _, _ := start(t, "-store", "memory", "-feed-secret", testFeedSecret, "-clients", "api=api-s3cret", "-public", "spa")
	for name, auth := range map[string]string{
		"no credentials":       "",
		"a wrong secret":       "Bearer wrong-s3cret-0123456789",
		"a client's secret":    "Bearer api-s3cret",
		"a wrong client":       "Basic " + basic("api", "wrong"),
		"a public client":      "Basic " + basic("spa", ""),
		"the secret, as Basic": "Basic " + basic("feed", testFeedSecret),
	} {
		r := c.feedGet(auth)
		if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %s, want 401 with WWW-Authenticate", name, r.status, r.body)
		}
	}
	for name, auth := range map[string]string{
		"the bearer secret":    "Bearer " + testFeedSecret,
		"a client, HTTP Basic": "Basic " + basic("api", "api-s3cret"),
	} {
		if r := c.feedGet(auth); r.status != http.StatusOK || r.header.Get("Content-Type") != httpadapter.FeedContentType {
			t.Errorf("%s: %d %s %q, want 200 and the feed", name, r.status, r.body, r.header.Get("Content-Type"))
		}
	}

	// A follower without credentials is refused at once, not retried
	// until its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := follow.New(ctx, c.base+httpadapter.FeedPath)
	if !errors.Is(err, follow.ErrUnauthorized) {
		t.Errorf("follow.New without credentials: %v, want ErrUnauthorized", err)
	}
	// A client follows with its secret.
	followServer(t, c, follow.WithRequestEditor(func(r *http.Request) error {
		r.SetBasicAuth("api", "api-s3cret")
		return nil
	}))
}

// basic is the credentials of HTTP Basic, form-urlencoded first as RFC
// 6749 asks.
func basic(id, secret string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

// TestFeedNeedsCredentials: without -feed-secret or -clients the feed is not
// served at all, and a secret too short for the feed is refused at start.
func TestFeedNeedsCredentials(t *testing.T) {
	c, _, _ := start(t, "-store", "memory")
	if r := c.feedGet("Bearer " + testFeedSecret); r.status != http.StatusNotFound {
		t.Errorf("feed without -feed-secret: %d %s, want 404", r.status, r.body)
	}
	err := run(context.Background(), []string{"-store", "memory", "-addr", "127.0.0.1:0", "-feed-secret", "short"}, io.Discard)
	if !errors.Is(err, httpadapter.ErrInvalidFeedOption) {
		t.Errorf("-feed-secret short: %v, want ErrInvalidFeedOption", err)
	}
}

// TestFeedSecretFromEnvironment: -feed-secret defaults to
// $REVOKE_FEED_SECRET.
func TestFeedSecretFromEnvironment(t *testing.T) {
	t.Setenv(feedSecretEnv, testFeedSecret)
	c, _, _ := start(t, "-store", "memory")
	if r := c.feedGet("Bearer " + testFeedSecret); r.status != http.StatusOK {
		t.Errorf("feed with $%s: %d %s, want 200", feedSecretEnv, r.status, r.body)
	}
	if r := c.feedGet(""); r.status != http.StatusUnauthorized {
		t.Errorf("feed without credentials: %d %s, want 401", r.status, r.body)
	}
}

// TestFollowerSeesRevocation runs a follower over the real server: a token
// the server mints is live on the follower; once its refresh token is
// revoked on the server, the follower holds the access token revoked. The
// server's shutdown then ends the follower's stream rather than wait for it.
func TestFollowerSeesRevocation(t *testing.T) {
	c, log, stop := start(t, "-store", "bolt", "-path", t.TempDir()+"/feed.db", "-feed-secret", testFeedSecret)
	f := followServer(t, c, follow.WithBearer(testFeedSecret))
	ctx := context.Background()

	tok := c.mint("my-app")
	if ok, err := f.IsRevoked(ctx, tok.AccessToken); ok || err != nil {
		t.Fatalf("a live token on the follower: %v, %v", ok, err)
	}
	if r := c.revoke(tok.RefreshToken, "my-app"); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	// The follower's position reaches the two revocations (the refresh
	// token and the access token minted from it); it then holds both.
	waitFor(t, "the follower applying the revocation", func() bool { return f.Stats().Position >= 2 })
	for _, token := range []string{tok.AccessToken, tok.RefreshToken} {
		if ok, err := f.IsRevoked(ctx, token); !ok || err != nil {
			t.Errorf("a revoked token on the follower: %v, %v", ok, err)
		}
	}

	start := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), "msg=shutdown") {
		t.Errorf("the shutdown waited for the feed's streams (%v):\n%s", time.Since(start), log.String())
	}
}
