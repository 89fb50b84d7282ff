package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

const testSecret = "feed-s3cret-0123456789"

// syncBuffer is a concurrency-safe buffer for a server's log.
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

// waitListening waits up to 2 minutes for log to name the address the
// server listens on (an auth server built by the test may be slow to
// start on a loaded machine), failing early when exited is closed.
func waitListening(t *testing.T, log *syncBuffer, exited <-chan struct{}) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if m := listening.FindStringSubmatch(log.String()); m != nil {
			return "http://" + m[1]
		}
		select {
		case <-exited:
			t.Fatalf("the server exited before listening:\n%s", log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not start:\n%s", log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startResource runs the resource server as main does, on a free port,
// until the test ends or stop is called; stop waits for run to return and
// reports its error.
func startResource(t *testing.T, args ...string) (base string, log *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log = &syncBuffer{}
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		err := run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), log)
		close(exited)
		done <- err
	}()
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = errors.New("run did not return")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return waitListening(t, log, exited), log, stop
}

var (
	buildOnce sync.Once
	built     string
	buildErr  error
)

// TestMain removes the binary the tests built, if any.
func TestMain(m *testing.M) {
	code := m.Run()
	if built != "" {
		_ = os.RemoveAll(filepath.Dir(built))
	}
	os.Exit(code)
}

// authServerBinary builds examples/authserver once per test binary, with
// the race detector when the tests have it, and returns its path.
func authServerBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "resourceserver-test-")
		if err != nil {
			buildErr = err
			return
		}
		built = filepath.Join(dir, "authserver")
		args := []string{"build", "-o", built}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, "github.com/sdkauth/revocation/examples/authserver")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./examples/authserver: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

// startAuthBinary runs the built auth server with args (on a free port) and
// the environment env added to the test's, until the test ends or stop is
// called; stop interrupts it (SIGINT, as Ctrl-C does) and reports how it
// exited.
func startAuthBinary(t *testing.T, env []string, args ...string) (base string, log *syncBuffer, stop func() error) {
	t.Helper()
	log = &syncBuffer{}
	cmd := exec.Command(authServerBinary(t), append(args, "-addr", "127.0.0.1:0")...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-exited:
				stopErr = waitErr
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
				stopErr = errors.New("the auth server did not stop within 30s of SIGINT")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return waitListening(t, log, exited), log, stop
}

// authServer is an authorization server made with the library in the
// test's process: a Revoker and its feed.
type authServer struct {
	rv  *revoke.Revoker
	srv *httptest.Server
}

func newAuthServer(t *testing.T, opts ...httpadapter.FeedOption) *authServer {
	t.Helper()
	return newAuthServerWith(t, nil, opts...)
}

// newAuthServerWith is newAuthServer with a Revoker made with ropts.
func newAuthServerWith(t *testing.T, ropts []revoke.Option, opts ...httpadapter.FeedOption) *authServer {
	t.Helper()
	rv, err := revoke.New(memory.New(), ropts...)
	if err != nil {
		t.Fatal(err)
	}
	feed, err := httpadapter.NewFeedHandler(rv, append([]httpadapter.FeedOption{httpadapter.WithFeedHeartbeat(100 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(httpadapter.FeedPath, feed)
	a := &authServer{rv: rv, srv: httptest.NewServer(mux)}
	t.Cleanup(a.close)
	return a
}

// close ends the feed's streams (closing the Revoker), then the server.
func (a *authServer) close() {
	_ = a.rv.Close()
	a.srv.Close()
}

// revokeNew issues tok and revokes it.
func (a *authServer) revokeNew(t *testing.T, tok string) {
	t.Helper()
	ctx := context.Background()
	if err := a.rv.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Access, ClientID: "app", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.rv.Revoke(ctx, tok, "app"); err != nil {
		t.Fatal(err)
	}
}

// curl sends the request curl sends for method, rawURL, the header and the
// body, and returns what curl -s prints: the body, or with headers (-i)
// the response as it came, line ends as "\n".
func curl(t *testing.T, method, rawURL string, header http.Header, body string, headers bool) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var req strings.Builder
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: curl/8.14.1\r\nAccept: */*\r\n", method, u.RequestURI(), u.Host)
	for k, vs := range header {
		for _, v := range vs {
			fmt.Fprintf(&req, "%s: %s\r\n", k, v)
		}
	}
	if body != "" {
		fmt.Fprintf(&req, "Content-Length: %d\r\n", len(body))
	}
	req.WriteString("\r\n" + body)
	if _, err := io.WriteString(conn, req.String()); err != nil {
		t.Fatal(err)
	}
	var raw bytes.Buffer
	resp, err := http.ReadResponse(bufio.NewReader(io.TeeReader(conn, &raw)), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !headers {
		return string(b)
	}
	return strings.ReplaceAll(raw.String(), "\r\n", "\n")
}
