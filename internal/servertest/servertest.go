// Package servertest gates the tests of a backend that needs a database
// server (postgres, mysql): they run against the server whose DSN an
// environment variable names, skip visibly without it, and fail instead of
// skipping in CI. It also holds what those tests put between them and the
// server: a proxy that adds latency, as a server on another host has, and
// a counter of round trips.
package servertest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// NoTestsToRun is the line of the testing package that go test looks for
// in a passing package's output to add "[no tests to run]" to its summary
// line, the only part of that output it shows without -v.
const NoTestsToRun = "testing: warning: no tests to run"

// Gate names what a backend's tests need.
type Gate struct {
	Package     string // the package, which starts every line: "mysql"
	Server      string // the server, in the messages: "MySQL"
	DSNEnv      string // the variable that holds the DSN: "REVOKE_MYSQL_DSN"
	RequiredEnv string // the variable that, set, makes a missing DSN a failure
	Example     string // a DSN to show in the skip message
}

// Main is the body of the package's TestMain: it returns the DSN, or, when
// the variable is not set, exits 0 after telling the skip twice (in words,
// and as the line that makes go test's summary read "[no tests to run]"),
// or exits 1 when CI=true or RequiredEnv is set.
func (g Gate) Main(m *testing.M) string {
	dsn := os.Getenv(g.DSNEnv)
	if dsn != "" {
		return dsn
	}
	if os.Getenv("CI") == "true" || os.Getenv(g.RequiredEnv) != "" {
		fmt.Fprintf(os.Stderr, "%s: %s is not set, and CI=true or %s is: the %s tests must run\n", g.Package, g.DSNEnv, g.RequiredEnv, g.Server)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "%s: %s is not set: skipping the %s tests (set it, e.g. to %s)\n", g.Package, g.DSNEnv, g.Server, g.Example)
	fmt.Fprintln(os.Stderr, NoTestsToRun)
	os.Exit(0)
	return ""
}

// TestSkipsVisibly runs the test binary again without a DSN: it must exit
// 0 with the skip on standard error, including the line go test turns into
// "[no tests to run]"; with RequiredEnv set, or CI=true, it must fail.
func (g Gate) TestSkipsVisibly(t *testing.T) {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if name != g.DSNEnv && name != g.RequiredEnv && name != "CI" {
			env = append(env, kv)
		}
	}
	stdout, stderr, code := rerun(t, env)
	if code != 0 || !strings.Contains(stderr, g.Package+": "+g.DSNEnv+" is not set: skipping the "+g.Server+" tests") ||
		!strings.HasSuffix(stderr, "\n"+NoTestsToRun+"\n") || stdout != "" {
		t.Errorf("without a DSN: exit %d, stdout %q, stderr %q; want 0, the skip and %q on stderr", code, stdout, stderr, NoTestsToRun)
	}
	for _, required := range []string{g.RequiredEnv + "=1", "CI=true"} {
		_, stderr, code := rerun(t, append(env[:len(env):len(env)], required))
		if code != 1 || !strings.Contains(stderr, "the "+g.Server+" tests must run") || strings.Contains(stderr, NoTestsToRun) {
			t.Errorf("without a DSN, %s: exit %d, stderr %q; want 1, must run", required, code, stderr)
		}
	}
}

// rerun runs the test binary with env and no test, and returns its output
// and exit code.
func rerun(t *testing.T, env []string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.count=1")
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}
