package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// client walks the curl session of the README against base.
type client struct {
	t    *testing.T
	base string
}

type response struct {
	status int
	header http.Header
	body   string
}

func (c client) do(method, path, contentType, body, bearer string) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: strings.TrimSpace(string(b))}
}

// mint calls the DEMO token endpoint with a form.
func (c client) mint(clientID string) tokenResponse {
	c.t.Helper()
	r := c.do("POST", "/demo/token", "application/x-www-form-urlencoded", url.Values{"clientId": {clientID}}.Encode(), "")
	if r.status != http.StatusOK {
		c.t.Fatalf("mint: %d %s", r.status, r.body)
	}
	var tok tokenResponse
	if err := json.Unmarshal([]byte(r.body), &tok); err != nil {
		c.t.Fatalf("mint: %v", err)
	}
	return tok
}

func (c client) protected(token string) response {
	c.t.Helper()
	return c.do("GET", "/demo/protected", "", "", token)
}

func (c client) revoke(token, clientID string) response {
	c.t.Helper()
	body, _ := json.Marshal(map[string]string{"token": token, "clientId": clientID})
	return c.do("POST", httpadapter.Path, "application/json", string(body), "")
}

// walk runs the session of the README: mint, call the protected route,
// revoke the refresh token, call the protected route again.
func walk(t *testing.T, c client) {
	tok := c.mint("my-app")
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 900 || tok.AccessToken == "" || tok.RefreshToken == "" || tok.AccessToken == tok.RefreshToken {
		t.Fatalf("minted %+v", tok)
	}
	if _, err := decodeToken(tok.AccessToken); err != nil {
		t.Errorf("access token: %v", err)
	}

	if r := c.protected(tok.AccessToken); r.status != http.StatusOK || !strings.Contains(r.body, `"message":"hello`) {
		t.Fatalf("protected before revocation: %d %s", r.status, r.body)
	}
	if r := c.revoke(tok.RefreshToken, "someone-else"); r.status != http.StatusForbidden {
		t.Fatalf("revoke by another client: %d %s", r.status, r.body)
	}
	if r := c.revoke(tok.RefreshToken, "my-app"); r.status != http.StatusOK || r.body != "{}" {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	r := c.protected(tok.AccessToken)
	if r.status != http.StatusUnauthorized || r.body != `{"message":"token has been revoked"}` {
		t.Fatalf("protected after revocation: %d %s", r.status, r.body)
	}
	if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	// Revoking again is still 200.
	if r := c.revoke(tok.RefreshToken, "my-app"); r.status != http.StatusOK {
		t.Fatalf("second revoke: %d %s", r.status, r.body)
	}
}

func decodeToken(s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if len(b) != 32 {
		return nil, errors.New("not 32 bytes")
	}
	return b, nil
}

func newTestServer(t *testing.T) (client, *revoke.Revoker) {
	rev, err := revoke.New(memory.New())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rev.Close() })
	srv := httptest.NewServer(mustServer(t, rev, slog.New(slog.DiscardHandler), endpoints{}))
	t.Cleanup(srv.Close)
	return client{t: t, base: srv.URL}, rev
}

func TestCurlSession(t *testing.T) {
	c, _ := newTestServer(t)
	walk(t, c)
}

func TestDemoEndpoints(t *testing.T) {
	c, rev := newTestServer(t)
	ctx := context.Background()

	// JSON body, and the default client.
	for _, tc := range []struct{ ct, body, client string }{
		{"application/json", `{"clientId":"json-app"}`, "json-app"},
		{"", "", demoClient},
		{"application/json", `{}`, demoClient},
	} {
		r := c.do("POST", "/demo/token", tc.ct, tc.body, "")
		if r.status != http.StatusOK {
			t.Fatalf("%q: %d %s", tc.body, r.status, r.body)
		}
		var tok tokenResponse
		_ = json.Unmarshal([]byte(r.body), &tok)
		if r.header.Get("Cache-Control") != "no-store" {
			t.Error("token response without Cache-Control: no-store")
		}
		if _, err := rev.Revoke(ctx, tok.AccessToken, tc.client); err != nil {
			t.Errorf("%q: token not issued to %q: %v", tc.body, tc.client, err)
		}
	}
	if r := c.do("POST", "/demo/token", "application/json", `{"clientId":1}`, ""); r.status != http.StatusBadRequest {
		t.Errorf("bad JSON: %d", r.status)
	}
	if r := c.do("POST", "/demo/token", "text/plain", `x`, ""); r.status != http.StatusBadRequest {
		t.Errorf("text/plain: %d", r.status)
	}
	if r := c.do("GET", "/demo/token", "", "", ""); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET /demo/token: %d", r.status)
	}
	// The protected route wants a bearer token.
	if r := c.do("GET", "/demo/protected", "", "", ""); r.status != http.StatusUnauthorized {
		t.Errorf("protected without a token: %d %s", r.status, r.body)
	}
	if r := c.do("GET", "/openapi.yaml", "", "", ""); r.status != http.StatusOK || !strings.HasPrefix(r.body, "openapi: 3.1") {
		t.Errorf("openapi.yaml: %d", r.status)
	}
}

// syncBuffer is a concurrency-safe buffer for run's log.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listening = regexp.MustCompile(`msg=listening addr=(\S+)`)

// start runs the server as main does, on a free port, until the test ends
// or stop is called; stop waits for run to return and reports its error.
func start(t *testing.T, args ...string) (c client, log *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log = &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), log) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(30 * time.Second):
				runErr = errors.New("run did not return")
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := listening.FindStringSubmatch(log.String()); m != nil {
			return client{t: t, base: "http://" + m[1]}, log, stop
		}
		select {
		case err := <-done:
			t.Fatalf("run returned before listening: %v\n%s", err, log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s", log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRun(t *testing.T) {
	for _, store := range []string{"memory", "bolt", "sqlite"} {
		t.Run(store, func(t *testing.T) {
			args := []string{"-store", store}
			if store != "memory" {
				args = append(args, "-path", filepath.Join(t.TempDir(), "authserver-test.db"))
			}
			c, log, stop := start(t, args...)
			walk(t, c)
			if err := stop(); err != nil {
				t.Fatalf("run: %v\n%s", err, log.String())
			}
			for _, want := range []string{"msg=listening", "msg=request", "msg=\"shutting down\"", "msg=stopped"} {
				if !strings.Contains(log.String(), want) {
					t.Errorf("log lacks %s:\n%s", want, log.String())
				}
			}
		})
	}
}

// TestRunDurable shows that a revocation outlives a restart on the durable
// stores.
func TestRunDurable(t *testing.T) {
	for _, store := range []string{"bolt", "sqlite"} {
		t.Run(store, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "authserver-test.db")
			c, _, stop := start(t, "-store", store, "-path", path)
			tok, other := c.mint("my-app"), c.mint("my-app")
			if r := c.revoke(tok.RefreshToken, "my-app"); r.status != http.StatusOK {
				t.Fatalf("revoke: %d %s", r.status, r.body)
			}
			if err := stop(); err != nil {
				t.Fatal(err)
			}

			c, _, _ = start(t, "-store", store, "-path", path)
			if r := c.protected(tok.AccessToken); r.status != http.StatusUnauthorized {
				t.Errorf("revoked token after restart: %d %s", r.status, r.body)
			}
			if r := c.protected(other.AccessToken); r.status != http.StatusOK {
				t.Errorf("live token after restart: %d %s", r.status, r.body)
			}
			// The other grant survived the restart too: it can be revoked.
			if r := c.revoke(other.RefreshToken, "my-app"); r.status != http.StatusOK {
				t.Fatalf("revoke after restart: %d", r.status)
			}
			if r := c.protected(other.AccessToken); r.status != http.StatusUnauthorized {
				t.Errorf("second grant after its revocation: %d", r.status)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"-store", "mongo"}, &out); err == nil || !strings.Contains(err.Error(), "unknown store") {
		t.Errorf("unknown store: %v", err)
	}
	if err := run(ctx, []string{"extra"}, &out); err == nil {
		t.Error("extra argument accepted")
	}
	if err := run(ctx, []string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
	// A store file that is not a bolt database.
	path := filepath.Join(t.TempDir(), "not-a-db")
	if err := os.WriteFile(path, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"-store", "bolt", "-path", path, "-addr", "127.0.0.1:0"}, &out); err == nil {
		t.Error("opened a file that is not a bolt database")
	}
	// An address that cannot be listened on; the store is closed again.
	if err := run(ctx, []string{"-store", "memory", "-addr", "256.0.0.1:0"}, &out); err == nil {
		t.Error("listened on an invalid address")
	}
}

func TestParseFlagsDefaults(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		store, dir string
	}{
		{nil, "bolt", defaultBoltPath},
		{[]string{"-store", "sqlite"}, "sqlite", defaultSQLitePath},
		{[]string{"-store", "bolt", "-path", "x.db"}, "bolt", "x.db"},
	} {
		c, err := parseFlags(tc.args, io.Discard)
		if err != nil || c.store != tc.store || c.path != tc.dir || c.addr != "localhost:8080" {
			t.Errorf("%q: %+v, %v", tc.args, c, err)
		}
	}
}

// TestParseFlagsRefusesIgnoredFlags checks that a flag the chosen store
// would not use is refused rather than ignored: -path over memory would
// otherwise leave a user believing the state is kept in that file.
func TestParseFlagsRefusesIgnoredFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-store", "memory", "-path", "x.db"},
		{"-store", "postgres", "-path", "x.db", "-dsn", "postgres://localhost/db"},
		{"-store", "bolt", "-dsn", "postgres://localhost/db"},
		{"-store", "sqlite", "-table-prefix", "auth_"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%q: accepted a flag the store does not use", args)
		}
	}
	for _, args := range [][]string{
		{"-store", "sqlite", "-path", "x.db"},
		{"-store", "mysql", "-dsn", "root@tcp(127.0.0.1:3306)/test", "-table-prefix", "auth_"},
	} {
		if _, err := parseFlags(args, io.Discard); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}
