package follow_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/follow"
	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/revoke"
)

// The environment of the child process of
// BenchmarkRevokeWithRemoteFollowers: the feed's URL and how many
// followers to run.
const (
	remoteFeedEnv  = "REVOKE_FOLLOW_BENCH_FEED"
	remoteCountEnv = "REVOKE_FOLLOW_BENCH_FOLLOWERS"
)

// BenchmarkRevokeWithRemoteFollowers measures Revoke on the authorization
// server with 0 and with 100 followers attached to its feed, the followers
// running in another process (this test binary, started again), so that
// their CPU time is not the server's. Each op is one Revoke of an access
// token issued before the timer started, paced: it starts once every
// follower holds the previous revocation, and settle later, so the
// followers are idle, but for reading their streams, while it runs. The
// feed's heartbeat is its default (DefaultFeedHeartbeat). Besides ns/op
// (the Revoke alone), it reports the CPU time the server's process used
// per revocation over the whole loop, pacing included: the Revoke, and
// the streaming of it to the followers.
func BenchmarkRevokeWithRemoteFollowers(b *testing.B) {
	for _, kind := range []string{"memory", "bolt"} {
		for _, n := range []int{0, 100} {
			b.Run(fmt.Sprintf("%s/followers=%d", kind, n), func(b *testing.B) {
				revokeWithRemoteFollowers(b, kind, n)
			})
		}
	}
}

func revokeWithRemoteFollowers(b *testing.B, kind string, followers int) {
	s, _ := benchStore(b, kind)
	a := newAuthServer(b, s, nil, httpadapter.WithFeedHeartbeat(httpadapter.DefaultFeedHeartbeat))
	ctx := context.Background()
	for i := range b.N {
		if err := a.rv.Issue(ctx, revoke.Token{Value: fmt.Sprint("remote-", i), Kind: revoke.Access, ClientID: "app",
			ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	var child *remoteChild
	if followers > 0 {
		child = startRemoteFollowers(b, a.url, followers)
	}
	cpu0, cpuOK := processCPU()
	b.ResetTimer()
	for i := range b.N {
		if i > 0 {
			b.StopTimer()
			if child != nil {
				_, head := a.rv.ChangeRange()
				child.await(b, head)
			}
			time.Sleep(settle) // the streams' sync frames after the entries
			b.StartTimer()
		}
		if _, err := a.rv.Revoke(ctx, fmt.Sprint("remote-", i), "app"); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if cpu1, ok := processCPU(); ok && cpuOK {
		b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "server-cpu-µs/revocation")
	}
}

// remoteChild is the process running the followers.
type remoteChild struct {
	stdin io.Writer
	out   *bufio.Scanner
}

// startRemoteFollowers starts n followers of url in a child process and
// waits until each has loaded its snapshot.
func startRemoteFollowers(b *testing.B, url string, n int) *remoteChild {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), remoteFeedEnv+"="+url, remoteCountEnv+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = stdin.Close() // the child closes its followers and exits
		if err := cmd.Wait(); err != nil {
			b.Errorf("follower process: %v", err)
		}
	})
	c := &remoteChild{stdin: stdin, out: bufio.NewScanner(out)}
	c.expect(b, "ready")
	return c
}

// await returns once every follower of the child holds position head.
func (c *remoteChild) await(b *testing.B, head uint64) {
	b.Helper()
	if _, err := fmt.Fprintf(c.stdin, "await %d\n", head); err != nil {
		b.Fatal(err)
	}
	c.expect(b, fmt.Sprint("at ", head))
}

func (c *remoteChild) expect(b *testing.B, want string) {
	b.Helper()
	if !c.out.Scan() {
		b.Fatalf("follower process ended before saying %q: %v", want, c.out.Err())
	}
	if got := c.out.Text(); got != want {
		b.Fatalf("follower process said %q, want %q", got, want)
	}
}

// remoteFollowers is the child process of
// BenchmarkRevokeWithRemoteFollowers: it starts count followers of url,
// says "ready", then answers each line "await N" of its standard input
// with "at N" once every follower holds position N, until its standard
// input ends. It returns the process's exit status.
func remoteFollowers(url, count string) int {
	n, err := strconv.Atoi(count)
	if err != nil {
		fmt.Fprintln(os.Stderr, "follower process:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	cs := make([]*follow.Checker, n)
	for i := range cs {
		if cs[i], err = follow.New(ctx, url, follow.WithBearer(secret)); err != nil {
			cancel()
			fmt.Fprintln(os.Stderr, "follower process:", err)
			return 1
		}
	}
	cancel()
	defer func() {
		for _, c := range cs {
			_ = c.Close()
		}
	}()
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		head, err := strconv.ParseUint(strings.TrimPrefix(in.Text(), "await "), 10, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "follower process:", err)
			return 2
		}
		for _, c := range cs {
			for c.Stats().Position < head {
				time.Sleep(20 * time.Microsecond)
			}
		}
		fmt.Println("at", head)
	}
	return 0
}
