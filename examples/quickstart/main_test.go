package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runMainEnv, set, makes the test binary run the quick start's main with
// its command line instead of the tests (see start).
const runMainEnv = "QUICKSTART_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) != "" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestREADMEQuotesThisProgram checks that the README's quick start is this
// program, verbatim from its package clause on, so that the quick start
// always compiles.
func TestREADMEQuotesThisProgram(t *testing.T) {
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	code := string(src)
	i := strings.Index(code, "\npackage main\n")
	if i < 0 {
		t.Fatal("main.go has no package clause on a line of its own")
	}
	code = code[i+1:]
	if !strings.Contains(string(readme), "```go\n"+code+"```\n") {
		t.Fatal("README.md does not quote examples/quickstart/main.go (from its package clause on) in a ```go block: copy the file into the README's quick start")
	}
}

// quickstart is a running quick start: a child process of the test.
type quickstart struct {
	addr, bearer string // from its log line
}

var listeningLine = regexp.MustCompile(`listening on (\S+); try: curl -H 'Authorization: Bearer (\S+)' (\S+)/api/`)

// start runs the quick start with args in dir, as `go run ./examples/quickstart
// args...` would, and waits for its log line; it is killed when the test
// ends.
func start(t *testing.T, dir string, args ...string) quickstart {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	// A bound for a wedged child, not a timing assertion.
	deadline := time.After(time.Minute)
	var seen []string
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("quick start exited before listening:\n%s", strings.Join(seen, "\n"))
			}
			seen = append(seen, line)
			if m := listeningLine.FindStringSubmatch(line); m != nil {
				if m[1] != m[3] {
					t.Fatalf("log line names two addresses: %q", line)
				}
				go func() { // keep the pipe drained
					for range lines {
					}
				}()
				return quickstart{addr: m[1], bearer: m[2]}
			}
		case <-deadline:
			t.Fatalf("quick start did not listen:\n%s", strings.Join(seen, "\n"))
		}
	}
}

func (q quickstart) do(t *testing.T, method, path, body, bearer string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+q.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

// TestFlags runs the quick start with -addr and -db: it listens where it is
// told, keeps its state in the file it is told (not revocation.db in the
// working directory), and does what the README says: the bearer token it
// prints passes until it is revoked.
func TestFlags(t *testing.T) {
	work, data := t.TempDir(), t.TempDir()
	db := filepath.Join(data, "quickstart-test.db")
	q := start(t, work, "-addr", "127.0.0.1:0", "-db", db)
	if !strings.HasPrefix(q.addr, "127.0.0.1:") || strings.HasSuffix(q.addr, ":0") || strings.HasSuffix(q.addr, ":8080") {
		t.Fatalf("listening on %s, want 127.0.0.1 and a port of its own", q.addr)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("-db %s: %v", db, err)
	}
	if _, err := os.Stat(filepath.Join(work, "revocation.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("revocation.db in the working directory despite -db: %v", err)
	}
	if code, body := q.do(t, "GET", "/api/", "", q.bearer); code != http.StatusOK || body != "hello\n" {
		t.Fatalf("GET /api/ with the printed token: %d %q", code, body)
	}
	if code, body := q.do(t, "POST", "/v1/auth/token/revoke", `{"token":"`+q.bearer+`","clientId":"app"}`, ""); code != http.StatusOK {
		t.Fatalf("revoke: %d %q", code, body)
	}
	if code, _ := q.do(t, "GET", "/api/", "", q.bearer); code != http.StatusUnauthorized {
		t.Fatalf("GET /api/ with the revoked token: %d, want 401", code)
	}
}

// TestFlagDefaults checks the defaults -h reports: localhost:8080 and
// revocation.db, as the README says.
func TestFlagDefaults(t *testing.T) {
	// A bound for a program that ignores -h and serves, not a timing
	// assertion.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-h")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	out, _ := cmd.CombinedOutput() // -h exits 0 or 2, depending on the flag package's version
	for _, want := range []string{`-addr string`, `(default "localhost:8080")`, `-db string`, `(default "revocation.db")`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("-h output lacks %s:\n%s", want, out)
		}
	}
}

// TestSlowClientIsCutOff checks that the quick start's server does not wait
// forever for a client that never finishes its request headers: one such
// connection per client would otherwise hold a goroutine and a socket each.
func TestSlowClientIsCutOff(t *testing.T) {
	q := start(t, t.TempDir(), "-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "slow.db"))
	conn, err := net.Dial("tcp", q.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /api/ HTTP/1.1\r\nHost: x\r\n"); err != nil { // and never the blank line
		t.Fatal(err)
	}
	// A bound for a server without a header timeout, not a timing
	// assertion: the server's is a few seconds.
	if err := conn.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, conn); err != nil {
		t.Fatalf("the server still held the connection of a client that never finished its headers: %v", err)
	}
}
