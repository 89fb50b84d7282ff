package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/follow"
	"github.com/sdkauth/revocation/httpadapter"
)

func TestParseFlags(t *testing.T) {
	t.Setenv(feedSecretEnv, testSecret)
	c, err := parseFlags(nil, io.Discard)
	if err != nil || c.addr != "localhost:8081" || c.feedSecret != testSecret || c.maxLag != 0 ||
		len(c.authURLs) != 1 || c.authURLs[0] != "http://localhost:8080/v1/auth/revocations" {
		t.Errorf("defaults: %+v, %v", c, err)
	}
	c, err = parseFlags([]string{"-auth-server", "https://a.example/, https://b.example:8443", "-max-lag", "5s"}, io.Discard)
	if err != nil || c.maxLag != 5*time.Second || strings.Join(c.authURLs, " ") != "https://a.example/v1/auth/revocations https://b.example:8443/v1/auth/revocations" {
		t.Errorf("two auth servers: %+v, %v", c, err)
	}
	if c, err := parseFlags([]string{"-client", "api=api-s3cret"}, io.Discard); err != nil || c.feedSecret != "" || c.client != "api=api-s3cret" {
		t.Errorf("-client with $%s set: %+v, %v (the flag wins)", feedSecretEnv, c, err)
	}
	for _, args := range [][]string{
		{"-auth-server", "localhost:8080"},
		{"-auth-server", "ftp://auth.example"},
		{"-auth-server", "http://a.example,"},
		{"-feed-secret", testSecret, "-client", "api=s"},
		{"extra"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	t.Setenv(feedSecretEnv, "")
	if _, err := parseFlags(nil, io.Discard); err == nil || !strings.Contains(err.Error(), feedSecretEnv) {
		t.Errorf("no credentials: %v, want an error naming $%s", err, feedSecretEnv)
	}
}

// TestRunRefused: credentials the feed refuses, or options the follower
// refuses, end run at once with the follower's error, before it listens.
func TestRunRefused(t *testing.T) {
	a := newAuthServer(t, httpadapter.WithFeedSecret(testSecret))
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		want error
	}{
		{[]string{"-feed-secret", "wrong-s3cret-0123456789"}, follow.ErrUnauthorized},
		{[]string{"-client", "api=api-s3cret"}, follow.ErrUnauthorized},
		{[]string{"-feed-secret", testSecret, "-max-lag", "-1s"}, follow.ErrInvalidOption},
		{[]string{"-feed-secret", testSecret, "-max-lag", "50ms"}, nil}, // below the feed's heartbeat
	} {
		var log syncBuffer
		err := run(ctx, append([]string{"-addr", "127.0.0.1:0", "-auth-server", a.srv.URL}, tc.args...), &log)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || strings.Contains(log.String(), "msg=listening") {
			t.Errorf("%q: %v, want an error wrapping %v before listening", tc.args, err, tc.want)
		}
	}
	if err := run(ctx, []string{"-client", "api"}, io.Discard); err == nil {
		t.Error("-client without a secret accepted")
	}
}

// TestRunInterruptedWhileWaiting: interrupted while it waits for an auth
// server that does not answer, the resource server stops cleanly.
func TestRunInterruptedWhileWaiting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	ctx, cancel := context.WithCancel(context.Background())
	var log syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-auth-server", down, "-feed-secret", testSecret}, &log)
	}()
	waitFor(t, "a failed attempt logged", func() bool { return strings.Contains(log.String(), "reconnecting") })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run interrupted while waiting: %v, want nil\n%s", err, log.String())
	}
}

// TestFollowAsClient: with -client, the resource server follows a feed
// served to the auth server's clients, by HTTP Basic.
func TestFollowAsClient(t *testing.T) {
	auth := httpadapter.BasicAuth(httpadapter.StaticSecrets(map[string]string{"api": "api s3cret+/="}))
	a := newAuthServer(t, httpadapter.WithFeedClientAuth(auth, "api"))
	a.revokeNew(t, "revoked-before")
	api, _, _ := startResource(t, "-auth-server", a.srv.URL, "-client", "api=api s3cret+/=")
	if h := healthOf(t, api); h.Entries != 1 || !h.Connected || h.Status != "ok" {
		t.Errorf("/healthz: %+v", h)
	}
	if got := curl(t, "GET", api+"/api/hello", http.Header{"Authorization": {"Bearer revoked-before"}}, "", false); !strings.Contains(got, "token has been revoked") {
		t.Errorf("a token revoked before the follower started: %s", got)
	}
}

// TestSeveralAuthServers: with two -auth-server URLs, the resource server
// follows the second while the first does not answer.
func TestSeveralAuthServers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	a := newAuthServer(t, httpadapter.WithFeedSecret(testSecret))
	api, _, _ := startResource(t, "-auth-server", down+","+a.srv.URL, "-feed-secret", testSecret)
	if h := healthOf(t, api); h.URL != a.srv.URL+httpadapter.FeedPath || !h.Connected {
		t.Errorf("/healthz: %+v, want the second URL, connected", h)
	}
	a.revokeNew(t, "tok")
	waitFor(t, "the revocation reaching the resource server", func() bool {
		return strings.Contains(curl(t, "GET", api+"/api/hello", http.Header{"Authorization": {"Bearer tok"}}, "", false), "token has been revoked")
	})
}

// TestMaxLag: with -max-lag, once the auth server is gone for longer than
// the bound, /healthz answers 503 "stale" and the API fails closed (503)
// for tokens the follower does not hold revoked; a token it holds revoked
// is still refused with 401.
func TestMaxLag(t *testing.T) {
	a := newAuthServer(t, httpadapter.WithFeedSecret(testSecret))
	a.revokeNew(t, "revoked")
	api, _, _ := startResource(t, "-auth-server", a.srv.URL, "-feed-secret", testSecret, "-max-lag", "1s")
	live := http.Header{"Authorization": {"Bearer live"}}
	if got := curl(t, "GET", api+"/api/hello", live, "", true); !strings.HasPrefix(got, "HTTP/1.1 200 ") {
		t.Fatalf("a live token while the follower is caught up: %s", got)
	}
	a.close()
	waitFor(t, "/healthz turning stale", func() bool { return healthOf(t, api).Status == "stale" })
	if got := curl(t, "GET", api+"/healthz", nil, "", true); !strings.HasPrefix(got, "HTTP/1.1 503 ") || !strings.Contains(got, `"connected":false`) {
		t.Errorf("/healthz while stale: %s", got)
	}
	if got := curl(t, "GET", api+"/api/hello", live, "", true); !strings.HasPrefix(got, "HTTP/1.1 503 ") || !strings.Contains(got, "Retry-After: ") {
		t.Errorf("a live token while stale: %s, want 503 with Retry-After", got)
	}
	if got := curl(t, "GET", api+"/api/hello", http.Header{"Authorization": {"Bearer revoked"}}, "", true); !strings.HasPrefix(got, "HTTP/1.1 401 ") {
		t.Errorf("a revoked token while stale: %s, want 401", got)
	}
}

// TestHelloNeedsBearer: the API wants a bearer token; the middleware lets
// requests without one through to it.
func TestHelloNeedsBearer(t *testing.T) {
	a := newAuthServer(t, httpadapter.WithFeedSecret(testSecret))
	api, log, stop := startResource(t, "-auth-server", a.srv.URL, "-feed-secret", testSecret)
	for _, h := range []http.Header{nil, {"Authorization": {"Basic YTpi"}}} {
		if got := curl(t, "GET", api+"/api/hello", h, "", true); !strings.HasPrefix(got, "HTTP/1.1 401 ") || !strings.Contains(got, "bearer token required") {
			t.Errorf("%v: %s", h, got)
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`msg="snapshot loaded"`, "msg=listening", "msg=request", `msg="shutting down"`, "msg=stopped"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, log.String())
		}
	}
}
