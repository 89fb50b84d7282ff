package postgres_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// The environment of a re-executed child of TestMultiProcess.
const (
	mpRoleEnv   = "REVOKE_POSTGRES_TEST_MP_ROLE" // "writer N" or "follower"
	mpDirEnv    = "REVOKE_POSTGRES_TEST_MP_DIR"
	mpPrefixEnv = "REVOKE_POSTGRES_TEST_MP_PREFIX"
)

const (
	mpWriters   = 3
	mpFollowers = 2
	mpGrants    = 240
	mpRounds    = 3
)

type mpGrant struct {
	Client, Refresh, Access string
	Subject                 string // TestRacesAcrossProcesses's
}

// TestMultiProcess runs writer processes that revoke grants while other
// writer processes issue tokens under those grants, and follower processes
// that only read, following the feed (their poll is an hour: only the feed
// and the sequence bring revocations). At the end every follower's index
// must equal the set of revoked tokens: a revocation committed out of
// sequence order would be skipped by a follower for good, and an Issue
// that raced a Revoke of its grant must be refused or revoked.
func TestMultiProcess(t *testing.T) {
	if role := os.Getenv(mpRoleEnv); role != "" {
		mpChild(t, role)
		return
	}
	total := 0
	for round := range mpRounds {
		total += mpRound(t, round)
	}
	t.Logf("%d rounds of %d writer and %d follower processes: %d revoked tokens, every follower's index equal to them", mpRounds, mpWriters, mpFollowers, total)
}

func mpRound(t *testing.T, round int) int {
	ctx := context.Background()
	prefix := freshPrefix(t)
	dir := t.TempDir()
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	r := newRevoker(t, s)
	grants := make([]mpGrant, mpGrants)
	exp := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	for i := range grants {
		wg.Go(func() {
			g := mpGrant{Client: fmt.Sprintf("client-%d", i%5), Refresh: "rt-" + token(), Access: "at-" + token()}
			if err := r.Issue(ctx, revoke.Token{Value: g.Refresh, Kind: revoke.Refresh, ClientID: g.Client, ExpiresAt: exp}); err != nil {
				t.Error(err)
			}
			if err := r.Issue(ctx, revoke.Token{Value: g.Access, Kind: revoke.Access, ClientID: g.Client, Parent: g.Refresh, ExpiresAt: exp}); err != nil {
				t.Error(err)
			}
			grants[i] = g
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	writeJSON(t, filepath.Join(dir, "grants.json"), grants)

	env := append(os.Environ(), mpDirEnv+"="+dir, mpPrefixEnv+"="+prefix)
	followers := make([]*mpProc, mpFollowers)
	for i := range followers {
		followers[i] = startChild(t, "TestMultiProcess", append(env, mpRoleEnv+"=follower"))
		if !followers[i].expect(t, "ready") {
			t.FailNow()
		}
	}
	writers := make([]*mpProc, mpWriters)
	for i := range writers {
		writers[i] = startChild(t, "TestMultiProcess", append(env, mpRoleEnv+"=writer "+strconv.Itoa(i)))
	}
	// Each writer prints "issued <token> <grant>" for every Issue that
	// succeeded, then "done".
	issued := map[string]int{}
	for _, w := range writers {
		for line := range w.lines(t) {
			if rest, ok := strings.CutPrefix(line, "issued "); ok {
				tok, g, _ := strings.Cut(rest, " ")
				gi, _ := strconv.Atoi(g)
				issued[tok] = gi
			}
		}
		w.wait(t)
	}

	// The truth: even grants were revoked, with every token issued under
	// them; odd grants were not touched.
	want := map[string]bool{}
	for i, g := range grants {
		want[g.Refresh] = i%2 == 0
		want[g.Access] = i%2 == 0
	}
	for tok, gi := range issued {
		want[tok] = gi%2 == 0
	}
	// A fresh Revoker loads the store's revocations: they must be the
	// truth too.
	s2, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	fresh := newRevoker(t, s2)
	revoked := 0
	truth := make(map[string]bool, len(want))
	for tok, w := range want {
		ok, err := fresh.IsRevoked(ctx, tok)
		if err != nil || ok != w {
			t.Errorf("round %d: the store has %s revoked = %v (err %v), want %v", round, tok, ok, err, w)
		}
		truth[tok] = ok
		if ok {
			revoked++
		}
	}
	// Each follower must hold what the store holds, each on its own.
	writeJSON(t, filepath.Join(dir, "want.json"), truth)
	for i, f := range followers {
		f.send(t, "check")
		if !f.expect(t, "match") {
			t.Errorf("round %d: follower %d's index differs from the store's revocations", round, i)
		}
		f.wait(t)
	}
	return revoked
}

// mpChild is a re-executed child: a writer or a follower.
func mpChild(t *testing.T, role string) {
	ctx := context.Background()
	dir := os.Getenv(mpDirEnv)
	var grants []mpGrant
	readJSON(t, filepath.Join(dir, "grants.json"), &grants)
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(os.Getenv(mpPrefixEnv)))
	if err != nil {
		t.Fatal(err)
	}
	if role == "follower" {
		r, err := revoke.New(s, revoke.WithFollow(revoke.FollowPolicy{Interval: time.Hour}))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		fmt.Println("ready")
		in := bufio.NewScanner(os.Stdin)
		if !in.Scan() || in.Text() != "check" {
			t.Fatal("follower: no check asked")
		}
		var want map[string]bool
		readJSON(t, filepath.Join(dir, "want.json"), &want)
		// The feed delivers within milliseconds; allow for a loaded machine.
		deadline := time.Now().Add(15 * time.Second)
		for {
			var wrong []string
			for tok, w := range want {
				ok, err := r.IsRevoked(ctx, tok)
				if err != nil {
					t.Fatal(err)
				}
				if ok != w {
					wrong = append(wrong, fmt.Sprintf("%s=%v", tok, ok))
				}
			}
			if len(wrong) == 0 {
				fmt.Println("match")
				return
			}
			if time.Now().After(deadline) {
				sort.Strings(wrong)
				fmt.Printf("mismatch on %d tokens, e.g. %v\n", len(wrong), wrong[:min(3, len(wrong))])
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	w, err := strconv.Atoi(strings.TrimPrefix(role, "writer "))
	if err != nil {
		t.Fatalf("role %q", role)
	}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Writer w revokes the even grants g with g%writers == w, and issues
	// access tokens under the grants the next writer revokes, racing it.
	type op struct {
		grant  int
		revoke bool
	}
	var ops []op
	for g := range grants {
		if g%2 == 0 && g%mpWriters == w {
			ops = append(ops, op{g, true})
		}
		if g%mpWriters == (w+1)%mpWriters {
			for range 3 {
				ops = append(ops, op{g, false})
			}
		}
	}
	rand.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	var (
		mu sync.Mutex
		wg sync.WaitGroup
		ch = make(chan op)
	)
	exp := time.Now().Add(time.Hour)
	for range 6 {
		wg.Go(func() {
			for o := range ch {
				g := grants[o.grant]
				if o.revoke {
					if _, err := r.Revoke(ctx, g.Refresh, g.Client); err != nil {
						t.Errorf("writer Revoke: %v", err)
					}
					continue
				}
				tok := "at-" + token()
				err := r.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Access, ClientID: g.Client, Parent: g.Refresh, ExpiresAt: exp})
				switch {
				case err == nil:
					mu.Lock()
					fmt.Printf("issued %s %d\n", tok, o.grant)
					mu.Unlock()
				case !errors.Is(err, revoke.ErrRevoked):
					t.Errorf("writer Issue: %v", err)
				}
			}
		})
	}
	for _, o := range ops {
		ch <- o
	}
	close(ch)
	wg.Wait()
	fmt.Println("done")
}

// mpProc is a running child of TestMultiProcess or TestRacesAcrossProcesses.
type mpProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// startChild re-executes the test binary to run test alone, in the
// environment env (which names the child's role).
func startChild(t *testing.T, test string, env []string) *mpProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = env
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &mpProc{cmd: cmd, stdin: stdin, out: bufio.NewScanner(out)}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return p
}

// lines yields the child's output lines up to "done".
func (p *mpProc) lines(t *testing.T) func(func(string) bool) {
	return func(yield func(string) bool) {
		for p.out.Scan() {
			if p.out.Text() == "done" {
				return
			}
			if !yield(p.out.Text()) {
				return
			}
		}
		t.Fatalf("child ended without \"done\": %v", p.out.Err())
	}
}

// expect reads output lines until one starting with want; any other line
// of the protocol fails the test.
func (p *mpProc) expect(t *testing.T, want string) bool {
	t.Helper()
	for p.out.Scan() {
		line := p.out.Text()
		if strings.HasPrefix(line, want) {
			return true
		}
		if strings.HasPrefix(line, "mismatch") || strings.HasPrefix(line, "ready") || strings.HasPrefix(line, "match") {
			t.Logf("child said %q, want %q", line, want)
			return false
		}
	}
	t.Fatalf("child ended before saying %q", want)
	return false
}

func (p *mpProc) send(t *testing.T, line string) {
	t.Helper()
	if _, err := fmt.Fprintln(p.stdin, line); err != nil {
		t.Fatal(err)
	}
}

func (p *mpProc) wait(t *testing.T) {
	t.Helper()
	_ = p.stdin.Close()
	// What the child printed after the protocol (its test's failures).
	var rest []string
	for p.out.Scan() {
		rest = append(rest, p.out.Text())
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("child: %v\n%s", err, strings.Join(rest, "\n"))
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatal(err)
	}
}

func token() string {
	return strconv.FormatUint(rand.Uint64(), 36) + strconv.FormatUint(rand.Uint64(), 36)
}
