package main

import (
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// readmeSection returns the section of README.md under the heading title,
// up to the next heading of its level.
func readmeSection(t *testing.T, title string) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "\n## "+title+"\n")
	if start < 0 {
		t.Fatalf("README.md has no section %q", title)
	}
	text = text[start+1:]
	if end := strings.Index(text[3:], "\n## "); end >= 0 {
		text = text[:3+end+1]
	}
	return text
}

// fencedBlocks returns the fenced blocks of md whose info string is lang,
// each without its fences.
func fencedBlocks(md, lang string) []string {
	var blocks []string
	var cur *strings.Builder
	inFence := false
	for line := range strings.Lines(md) {
		switch {
		case !inFence && strings.HasPrefix(line, "```"):
			inFence = true
			if strings.TrimSpace(strings.TrimPrefix(line, "```")) == lang {
				cur = &strings.Builder{}
			}
		case inFence && strings.TrimSpace(line) == "```":
			inFence = false
			if cur != nil {
				blocks = append(blocks, cur.String())
				cur = nil
			}
		case cur != nil:
			cur.WriteString(line)
		}
	}
	return blocks
}

// terminalOne is what the README's first terminal runs: the environment
// and the arguments of each server.
type terminalOne struct {
	env                    map[string]string
	authArgs, resourceArgs []string
}

// parseTerminalOne reads the README's ```sh block that starts the two
// servers. It knows three kinds of line: export NAME=value, go run
// ./examples/authserver ... &, go run ./examples/resourceserver ...;
// comments and blank lines aside, any other line fails the test, so that
// the README cannot ask for a step the test does not take.
func parseTerminalOne(t *testing.T, block string) terminalOne {
	t.Helper()
	got := terminalOne{env: map[string]string{}}
	var auth, resource bool
	for line := range strings.Lines(block) {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case len(f) == 2 && f[0] == "export" && strings.Contains(f[1], "="):
			k, v, _ := strings.Cut(f[1], "=")
			got.env[k] = v
		case len(f) >= 3 && f[0] == "go" && f[1] == "run" && f[2] == "./examples/authserver" && f[len(f)-1] == "&":
			got.authArgs, auth = f[3:len(f)-1], true
		case len(f) >= 3 && f[0] == "go" && f[1] == "run" && f[2] == "./examples/resourceserver":
			got.resourceArgs, resource = f[3:], true
		default:
			t.Fatalf("README.md, Resource servers: the test does not know how to run %q", strings.TrimSpace(line))
		}
	}
	if !auth || !resource {
		t.Fatalf("README.md, Resource servers: the first ```sh block does not start both servers:\n%s", block)
	}
	return got
}

// transcript is a console session as the README shows it: each command
// after "$ ", then what it printed.
type transcript struct{ strings.Builder }

func (s *transcript) step(command, output string) {
	s.WriteString("$ " + command + "\n" + output)
}

func (s *transcript) blank() { s.WriteString("\n") }

// normalizers replace what differs from one run to the next (tokens, dates,
// epochs, lags) with "…", in the README's session and the test's alike.
var normalizers = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`"(access_token|refresh_token)":"[A-Za-z0-9_-]+"`), `"$1":"…"`},
	{regexp.MustCompile(`(?m)^Date: .*$`), `Date: …`},
	{regexp.MustCompile(`"epoch":"[0-9a-f]+"`), `"epoch":"…"`},
	{regexp.MustCompile(`"lag_ms":[0-9]+`), `"lag_ms":…`},
}

func normalize(s string) string {
	for _, n := range normalizers {
		s = n.re.ReplaceAllString(s, n.with)
	}
	return s
}

var (
	accessRE  = regexp.MustCompile(`"access_token":"([^"]*)"`)
	refreshRE = regexp.MustCompile(`"refresh_token":"([^"]*)"`)
)

// TestREADMESession runs the README's "Resource servers" session: the auth
// server (built from examples/authserver and started as the README starts
// it) and the resource server (run in this process with the README's
// arguments) over loopback; a token minted on the auth server is accepted
// by the resource server, revoked on the auth server, and refused by the
// resource server. What each command printed must be what the README
// shows, but for tokens, dates, the feed's epoch and the lag. The test
// waits for the follower's position to reach the revocation (no timed
// assertion) before the call that is refused. Both servers then stop
// cleanly, the auth server on SIGINT as on Ctrl-C.
func TestREADMESession(t *testing.T) {
	section := readmeSection(t, "Resource servers")
	shells, consoles := fencedBlocks(section, "sh"), fencedBlocks(section, "console")
	if len(shells) == 0 || len(consoles) == 0 {
		t.Fatal("README.md, Resource servers: no ```sh block starting the servers, or no ```console session")
	}
	one := parseTerminalOne(t, shells[0])
	var env []string
	for k, v := range one.env {
		t.Setenv(k, v) // the resource server, in this process
		env = append(env, k+"="+v)
	}
	auth, authLog, stopAuth := startAuthBinary(t, env, one.authArgs...)
	api, apiLog, stopAPI := startResource(t, append(one.resourceArgs, "-auth-server", auth)...)

	var s transcript
	out := curl(t, "POST", auth+"/demo/token", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "clientId=my-app", false)
	s.step("curl -s -X POST localhost:8080/demo/token -d clientId=my-app | tee tok.json", out)
	access, refresh := accessRE.FindStringSubmatch(out), refreshRE.FindStringSubmatch(out)
	if access == nil || refresh == nil {
		t.Fatalf("minting: %s", out)
	}
	s.step(`ACCESS=$(sed 's/.*"access_token":"\([^"]*\)".*/\1/' tok.json)`, "")
	s.step(`REFRESH=$(sed 's/.*"refresh_token":"\([^"]*\)".*/\1/' tok.json)`, "")
	bearer := http.Header{"Authorization": {"Bearer " + access[1]}}
	s.blank()
	s.step(`curl -s localhost:8081/api/hello -H "Authorization: Bearer $ACCESS"`,
		curl(t, "GET", api+"/api/hello", bearer, "", false))
	before := healthOf(t, api)
	s.blank()
	s.step(`curl -s -X POST localhost:8080/v1/auth/token/revoke -H 'Content-Type: application/json' \`+"\n"+
		`    -d "{\"token\":\"$REFRESH\",\"clientId\":\"my-app\"}"`,
		curl(t, "POST", auth+"/v1/auth/token/revoke", http.Header{"Content-Type": {"application/json"}},
			`{"token":"`+refresh[1]+`","clientId":"my-app"}`, false))

	// The revocation reaches the follower: its position moves past the
	// two revocations (the refresh token and the access token minted from
	// it). A person typing the next command takes longer than that.
	waitFor(t, "the follower's position passing the revocation", func() bool {
		return healthOf(t, api).Position >= before.Position+2
	})
	s.blank()
	s.step(`curl -s -i localhost:8081/api/hello -H "Authorization: Bearer $ACCESS"`,
		curl(t, "GET", api+"/api/hello", bearer, "", true))
	s.blank()
	s.step(`curl -s localhost:8081/api/hello -H 'Authorization: Bearer made-up'`,
		curl(t, "GET", api+"/api/hello", http.Header{"Authorization": {"Bearer made-up"}}, "", false))
	s.blank()
	s.step(`curl -s localhost:8081/healthz`,
		strings.ReplaceAll(curl(t, "GET", api+"/healthz", nil, "", false), auth, "http://localhost:8080"))

	got, want := normalize(s.String()), normalize(consoles[0])
	if got != want {
		t.Errorf("README.md, Resource servers: the session differs from what the servers answered.\nREADME:\n%s\nthe servers:\n%s", want, s.String())
	}

	if err := stopAPI(); err != nil {
		t.Errorf("the resource server: %v\n%s", err, apiLog.String())
	}
	if err := stopAuth(); err != nil {
		t.Errorf("the auth server on SIGINT: %v\n%s", err, authLog.String())
	}
	if l := authLog.String(); !strings.Contains(l, "msg=stopped") || strings.Contains(l, "msg=shutdown") {
		t.Errorf("the auth server did not stop cleanly:\n%s", l)
	}
}

// healthOf returns the resource server's /healthz.
func healthOf(t *testing.T, api string) health {
	t.Helper()
	var h health
	out := curl(t, "GET", api+"/healthz", nil, "", false)
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatalf("/healthz: %v: %s", err, out)
	}
	return h
}

// waitFor polls cond for up to 30s, failing the test if it never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 30s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
