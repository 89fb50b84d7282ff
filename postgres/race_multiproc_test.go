package postgres_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// The environment of a re-executed child of TestRacesAcrossProcesses: its
// role, "racer N".
const raceRoleEnv = "REVOKE_POSTGRES_TEST_RACE_ROLE"

const (
	raceProcs  = 3
	raceRounds = 20
	raceGrants = 24 // a round's grants: a third each revoked, rotated, left
)

// TestRacesAcrossProcesses runs raceProcs processes, each a replica with a
// Revoker of its own over the same tables, through raceRounds rounds that
// start in every process at once, each on grants of its own:
//   - grants g%3 == 0: one process revokes the grant (its refresh token,
//     or its subject: RevokeSubject, which reads no token of it first)
//     while every process issues access tokens under it;
//   - grants g%3 == 1: every process rotates the grant's refresh token,
//     each to a new token of its own;
//   - grants g%3 == 2: every process issues under the grant, which nobody
//     revokes.
//
// Without a lock shared by every write, the store must still keep each
// guarantee: of the concurrent Rotates of one token exactly one wins (and
// the others, presenting a rotated token, revoke the grant with the
// winner's token); an Issue racing a Revoke of its grant is refused or its
// token revoked; and a follower (this process's Revoker, on the change
// feed) and a fresh Revoker loading the store both hold exactly the tokens
// that must be revoked.
func TestRacesAcrossProcesses(t *testing.T) {
	if role := os.Getenv(raceRoleEnv); role != "" {
		raceChild(t, role)
		return
	}
	ctx := context.Background()
	prefix := freshPrefix(t)
	dir := t.TempDir()
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	r := newRevoker(t, s, revoke.WithFollow(revoke.FollowPolicy{Interval: time.Hour}))
	rounds := raceIssueGrants(t, r)
	writeJSON(t, filepath.Join(dir, "rounds.json"), rounds)

	env := append(os.Environ(), mpDirEnv+"="+dir, mpPrefixEnv+"="+prefix)
	procs := make([]*mpProc, raceProcs)
	for i := range procs {
		procs[i] = startChild(t, "TestRacesAcrossProcesses", append(env, raceRoleEnv+"=racer "+strconv.Itoa(i)))
	}
	out := raceOutcomes{issued: map[string]int{}, won: map[int][]string{}, lost: map[int]int{}}
	for round := range raceRounds {
		for _, p := range procs {
			p.send(t, "round "+strconv.Itoa(round))
		}
		for _, p := range procs {
			for line := range p.lines(t) {
				out.add(t, line)
			}
		}
	}
	for _, p := range procs {
		p.wait(t)
	}
	want := out.truth(t, rounds)

	fresh, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	loaded := newRevoker(t, fresh)
	revoked := 0
	for tok, w := range want {
		if ok, err := loaded.IsRevoked(ctx, tok); err != nil || ok != w {
			t.Errorf("the store has %s revoked = %v (err %v), want %v", tok, ok, err, w)
		}
		if w {
			revoked++
		}
	}
	// The follower: the feed delivers within milliseconds; allow for a
	// loaded machine.
	deadline := time.Now().Add(15 * time.Second)
	for wrong := raceWrong(t, r, want); len(wrong) > 0; wrong = raceWrong(t, r, want) {
		if time.Now().After(deadline) {
			t.Fatalf("the follower differs from the store on %d tokens, e.g. %v", len(wrong), wrong[:min(3, len(wrong))])
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("%d rounds of %d processes: %d tokens issued in the races, %d rotations won, %d lost; %d of %d tokens revoked, as the store and the follower hold",
		raceRounds, raceProcs, len(out.issued), len(out.won), out.lostTotal(), revoked, len(want))
}

// raceIssueGrants issues the grants of every round through r: a refresh
// token and an access token under it each.
func raceIssueGrants(t *testing.T, r *revoke.Revoker) [][]mpGrant {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	rounds := make([][]mpGrant, raceRounds)
	var wg sync.WaitGroup
	for k := range rounds {
		rounds[k] = make([]mpGrant, raceGrants)
		for g := range rounds[k] {
			wg.Go(func() {
				gr := mpGrant{Client: "client-" + strconv.Itoa(g%4), Refresh: "rt-" + token(), Access: "at-" + token(), Subject: "user-" + token()}
				if err := r.Issue(ctx, revoke.Token{Value: gr.Refresh, Kind: revoke.Refresh, ClientID: gr.Client, Subject: gr.Subject, ExpiresAt: exp}); err != nil {
					t.Error(err)
				}
				if err := r.Issue(ctx, revoke.Token{Value: gr.Access, Kind: revoke.Access, ClientID: gr.Client, Parent: gr.Refresh, ExpiresAt: exp}); err != nil {
					t.Error(err)
				}
				rounds[k][g] = gr
			})
		}
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return rounds
}

// raceOutcomes is what the processes said: the tokens they issued, by
// grant key (round*raceGrants + g), the rotations won, with the new
// tokens, and how many were lost, by grant key.
type raceOutcomes struct {
	issued map[string]int
	won    map[int][]string
	lost   map[int]int
}

func (o *raceOutcomes) add(t *testing.T, line string) {
	f := strings.Fields(line)
	key := -1
	if len(f) >= 2 {
		key, _ = strconv.Atoi(f[1])
	}
	switch {
	case len(f) == 3 && f[0] == "issued":
		o.issued[f[2]] = key
	case len(f) == 3 && f[0] == "won":
		o.won[key] = append(o.won[key], f[2])
	case len(f) == 2 && f[0] == "lost":
		o.lost[key]++
	default:
		t.Fatalf("child said %q", line)
	}
}

func (o *raceOutcomes) lostTotal() int {
	n := 0
	for _, l := range o.lost {
		n += l
	}
	return n
}

// truth returns, for every token of rounds and every token the processes
// issued, whether it must be revoked, and fails t if a rotation race had
// other than one winner.
func (o *raceOutcomes) truth(t *testing.T, rounds [][]mpGrant) map[string]bool {
	revokedGrant := func(key int) bool {
		switch key % raceGrants % 3 {
		case 0:
			return true
		case 1: // a losing Rotate presented a rotated token
			return o.lost[key] > 0
		}
		return false
	}
	want := map[string]bool{}
	for k, gs := range rounds {
		for g, gr := range gs {
			key := k*raceGrants + g
			want[gr.Refresh], want[gr.Access] = revokedGrant(key), revokedGrant(key)
			if g%3 != 1 {
				continue
			}
			if n := len(o.won[key]); n != 1 || o.lost[key] != raceProcs-1 {
				t.Errorf("round %d, grant %d: %d of %d concurrent Rotates won, %d lost; want exactly 1 winner", k, g, n, raceProcs, o.lost[key])
			}
			for _, tok := range o.won[key] {
				want[tok] = revokedGrant(key)
			}
		}
	}
	for tok, key := range o.issued {
		want[tok] = revokedGrant(key)
	}
	return want
}

// raceWrong returns the tokens r does not report as want says.
func raceWrong(t *testing.T, r *revoke.Revoker, want map[string]bool) []string {
	var wrong []string
	for tok, w := range want {
		ok, err := r.IsRevoked(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		if ok != w {
			wrong = append(wrong, fmt.Sprintf("%s=%v", tok, ok))
		}
	}
	return wrong
}

// raceChild is a re-executed child: for each "round N" line on its stdin
// it runs its operations of round N, says what came of them, and "done".
func raceChild(t *testing.T, role string) {
	me, err := strconv.Atoi(strings.TrimPrefix(role, "racer "))
	if err != nil {
		t.Fatalf("role %q", role)
	}
	var rounds [][]mpGrant
	readJSON(t, filepath.Join(os.Getenv(mpDirEnv), "rounds.json"), &rounds)
	s, err := postgres.Open(context.Background(), dsn, postgres.WithTablePrefix(os.Getenv(mpPrefixEnv)))
	if err != nil {
		t.Fatal(err)
	}
	r := newRevoker(t, s)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		round, err := strconv.Atoi(strings.TrimPrefix(in.Text(), "round "))
		if err != nil || round < 0 || round >= len(rounds) {
			t.Fatalf("racer: %q", in.Text())
		}
		raceRound(r, me, round, rounds[round])
		fmt.Println("done")
	}
}

// raceRound runs process me's operations on the grants of a round, 8 at a
// time, in random order, and prints their outcomes, and their errors,
// which fail the test.
func raceRound(r *revoke.Revoker, me, round int, grants []mpGrant) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	var ops []func() string
	for g, gr := range grants {
		key := strconv.Itoa(round*raceGrants + g)
		issue := func() string {
			tok := "at-" + token()
			err := r.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Access, ClientID: gr.Client, Parent: gr.Refresh, ExpiresAt: exp})
			switch {
			case err == nil:
				return "issued " + key + " " + tok
			case !errors.Is(err, revoke.ErrRevoked):
				return "error Issue: " + err.Error()
			}
			return ""
		}
		switch g % 3 {
		case 0:
			ops = append(ops, issue, issue)
			if g/3%raceProcs == me {
				ops = append(ops, func() string {
					var err error
					if g%2 == 0 {
						_, err = r.Revoke(ctx, gr.Refresh, gr.Client)
					} else {
						_, err = r.RevokeSubject(ctx, gr.Subject)
					}
					if err != nil {
						return "error Revoke: " + err.Error()
					}
					return ""
				})
			}
		case 1:
			ops = append(ops, func() string {
				next := "rt-" + token()
				err := r.Rotate(ctx, gr.Refresh, revoke.Token{Value: next, Kind: revoke.Refresh, ClientID: gr.Client, ExpiresAt: exp})
				switch {
				case err == nil:
					return "won " + key + " " + next
				case errors.Is(err, revoke.ErrReused) || errors.Is(err, revoke.ErrRevoked):
					return "lost " + key
				}
				return "error Rotate: " + err.Error()
			})
		default:
			ops = append(ops, issue)
		}
	}
	rand.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	var (
		mu sync.Mutex
		wg sync.WaitGroup
		ch = make(chan func() string)
	)
	for range 8 {
		wg.Go(func() {
			for op := range ch {
				if line := op(); line != "" {
					mu.Lock()
					fmt.Println(line)
					mu.Unlock()
				}
			}
		})
	}
	for _, op := range ops {
		ch <- op
	}
	close(ch)
	wg.Wait()
}
