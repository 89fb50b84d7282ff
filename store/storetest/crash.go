package storetest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sdkauth/revocation/internal/harness"
	"github.com/sdkauth/revocation/revoke"
)

// Opener opens the store kept in the file at path, creating it if needed.
type Opener func(path string) (revoke.Store, error)

// crashEnv tells a re-executed test binary to act as RunCrash's child; its
// value is the round's directory.
const crashEnv = "REVOCATION_STORETEST_CRASH_DIR"

// crashPlan is what the parent issues and what it asks the child to revoke.
type crashPlan struct {
	Grants []crashGrant
	Ops    []crashOp
}

type crashGrant struct {
	Client  string
	Refresh string
	Access  []string
}

// crashOp revokes the refresh token of grant Grant (cascading to the whole
// grant) or, when Access is set, that grant's first access token alone.
type crashOp struct {
	Grant  int
	Access bool
}

// RunCrash proves that every acknowledged revocation survives the process
// being killed. Each round issues a set of grants, then re-executes the test
// binary as a child that revokes a stream of them from several goroutines and
// prints a line for each Revoke that returned; the parent SIGKILLs the child
// mid-stream, reopens the file and checks that every acknowledged
// revocation is there, that every grant was revoked all or nothing, and that
// nothing the child was not asked to revoke was revoked.
//
// RunCrash must be called from a top-level test function (the child re-runs
// that test with -test.run); in the child it does the child's part and
// returns.
//
// How the child finds its database: the child is the test binary itself,
// run as os.Args[0] with -test.run matching the calling test alone and
// -test.count=1, in the parent's environment plus
// REVOCATION_STORETEST_CRASH_DIR, the round's temporary directory. Its
// Opener is called with the path the parent's was called with for that
// round, crash.db in that directory. A store kept in a file opens that
// file. A store on a database server maps the path, the same way in both
// processes, to data of its own (a table prefix or a database named after
// a hash of the path). Whatever else both need (a DSN, a base prefix the
// parent chose) travels in the environment: the test function runs again
// from its start in the child, so it must read such a value from a
// variable the parent set with t.Setenv before calling RunCrash, not
// choose it anew (the postgres backend's TestCrash does this).
func RunCrash(t *testing.T, open Opener, rounds int) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(t, open, dir)
		return
	}
	if testing.Short() {
		rounds = min(rounds, 3)
	}
	acked, total := 0, 0
	for round := range rounds {
		a, n := crashRound(t, open, round)
		acked += a
		total += n
	}
	t.Logf("%d rounds: %d acknowledged revocations checked of %d requested", rounds, acked, total)
}

func crashRound(t *testing.T, open Opener, round int) (acked, requested int) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "crash.db")
	plan := issueCrashPlan(t, open, path)
	data, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plan.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run="+runPattern(t.Name()), "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killAfter := 1 + rand.IntN(len(plan.Ops))
	ack := make(map[int]bool)
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		num, ok := strings.CutPrefix(line, "ack ")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(num)
		if err != nil || i < 0 || i >= len(plan.Ops) {
			t.Fatalf("child printed %q", line)
		}
		ack[i] = true
		if len(ack) == killAfter {
			_ = cmd.Process.Signal(syscall.SIGKILL)
			killed = true
			break
		}
	}
	_ = cmd.Wait()
	if !killed && len(ack) != len(plan.Ops) {
		t.Fatalf("round %d: child ended after %d of %d acknowledgements without being killed", round, len(ack), len(plan.Ops))
	}

	s, err := open(path)
	if err != nil {
		t.Fatalf("round %d: reopening after SIGKILL: %v", round, err)
	}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatalf("round %d: revoke.New after SIGKILL: %v", round, err)
	}
	defer r.Close()
	checkCrash(t, r, plan, ack, round)
	return len(ack), len(plan.Ops)
}

// issueCrashPlan issues the grants of a round, concurrently so the setup
// shares commits, and plans the revocations.
func issueCrashPlan(t *testing.T, open Opener, path string) crashPlan {
	t.Helper()
	const grants = 48
	s, err := open(path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatalf("revoke.New: %v", err)
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}()
	plan := crashPlan{Grants: make([]crashGrant, grants)}
	exp := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	for i := range plan.Grants {
		wg.Go(func() {
			g := crashGrant{Client: fmt.Sprintf("client-%d", i%4), Refresh: harness.Token()}
			if err := r.Issue(context.Background(), revoke.Token{Value: g.Refresh, Kind: revoke.Refresh, ClientID: g.Client, ExpiresAt: exp}); err != nil {
				t.Errorf("Issue: %v", err)
				return
			}
			for range 2 {
				at := harness.Token()
				if err := r.Issue(context.Background(), revoke.Token{Value: at, Kind: revoke.Access, ClientID: g.Client, Parent: g.Refresh, ExpiresAt: exp}); err != nil {
					t.Errorf("Issue: %v", err)
					return
				}
				g.Access = append(g.Access, at)
			}
			plan.Grants[i] = g
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// Grants i%3 == 0: revoke the refresh token; == 1: the first access
	// token alone; == 2: untouched.
	for i := range plan.Grants {
		if i%3 != 2 {
			plan.Ops = append(plan.Ops, crashOp{Grant: i, Access: i%3 == 1})
		}
	}
	rand.Shuffle(len(plan.Ops), func(a, b int) { plan.Ops[a], plan.Ops[b] = plan.Ops[b], plan.Ops[a] })
	return plan
}

// crashChild revokes the plan's stream with four workers, printing "ack i"
// as soon as op i's Revoke returns, until it is killed.
func crashChild(t *testing.T, open Opener, dir string) {
	data, err := os.ReadFile(filepath.Join(dir, "plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	var plan crashPlan
	if err := json.Unmarshal(data, &plan); err != nil {
		t.Fatal(err)
	}
	s, err := open(filepath.Join(dir, "crash.db"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	ops := make(chan int)
	var (
		wg sync.WaitGroup
		mu sync.Mutex
	)
	for range 4 {
		wg.Go(func() {
			for i := range ops {
				op := plan.Ops[i]
				g := plan.Grants[op.Grant]
				tok := g.Refresh
				if op.Access {
					tok = g.Access[0]
				}
				if _, err := r.Revoke(context.Background(), tok, g.Client); err != nil {
					t.Errorf("child Revoke: %v", err)
					return
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %d\n", i)
				mu.Unlock()
			}
		})
	}
	for i := range plan.Ops {
		ops <- i
	}
	close(ops)
	wg.Wait()
	_ = r.Close()
}

func checkCrash(t *testing.T, r *revoke.Revoker, plan crashPlan, ack map[int]bool, round int) {
	t.Helper()
	is := func(tok string) bool {
		ok, err := r.IsRevoked(context.Background(), tok)
		if err != nil {
			t.Fatalf("IsRevoked: %v", err)
		}
		return ok
	}
	opOf := make(map[int]int, len(plan.Ops))
	for i, op := range plan.Ops {
		opOf[op.Grant] = i
	}
	for gi, g := range plan.Grants {
		rv, a0, a1 := is(g.Refresh), is(g.Access[0]), is(g.Access[1])
		i, asked := opOf[gi]
		switch {
		case !asked:
			if rv || a0 || a1 {
				t.Errorf("round %d: grant %d was never asked to be revoked, yet has revoked tokens (%v %v %v)", round, gi, rv, a0, a1)
			}
		case plan.Ops[i].Access:
			checkCrashedAccessRevoke(t, round, gi, ack[i], rv, a0, a1)
		default:
			checkCrashedRefreshRevoke(t, round, gi, ack[i], rv, a0, a1)
		}
	}
}

// checkCrashedAccessRevoke checks grant gi after a crash round in which its
// first access token was asked to be revoked, acked telling whether the
// child acknowledged that: rv, a0 and a1 tell whether its refresh token and
// its two access tokens read back revoked. An acknowledged revocation must
// have survived, and must not have spread to the grant's other tokens.
func checkCrashedAccessRevoke(t *testing.T, round, gi int, acked, rv, a0, a1 bool) {
	t.Helper()
	if acked && !a0 {
		t.Errorf("round %d: acknowledged revocation of grant %d's access token is lost", round, gi)
	}
	if rv || a1 {
		t.Errorf("round %d: revoking grant %d's access token revoked more (refresh %v, other access %v)", round, gi, rv, a1)
	}
}

// checkCrashedRefreshRevoke checks grant gi after a crash round in which
// its refresh token was asked to be revoked, acked, rv, a0 and a1 as for
// checkCrashedAccessRevoke. An acknowledged revocation must have survived,
// and the cascade to the access tokens must be all or nothing.
func checkCrashedRefreshRevoke(t *testing.T, round, gi int, acked, rv, a0, a1 bool) {
	t.Helper()
	if acked && !rv {
		t.Errorf("round %d: acknowledged revocation of grant %d's refresh token is lost", round, gi)
	}
	if rv != a0 || rv != a1 {
		t.Errorf("round %d: grant %d revoked in part (refresh %v, access %v %v): the cascade is not atomic", round, gi, rv, a0, a1)
	}
}

// runPattern turns a test name into a -test.run pattern matching it alone.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}
