package postgres_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// pauseIdle is the idle in transaction timeout of the lock holders of the
// tests below: well under the 5s lock timeout of the writers they hold up.
const pauseIdle = 500 * time.Millisecond

// TestSilentLockHolderIsEnded holds the lock of a parent token in a
// Store's Update that stops talking to the server (its fn waits, as a
// paused process would): the server ends the holder's session after its
// idle in transaction timeout, so another Store's Issue under the parent,
// waiting for the lock,
// succeeds rather than fail at its lock timeout; the holder's Update then
// fails with ErrUnavailable and nothing it wrote is stored.
func TestSilentLockHolderIsEnded(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	holder, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix), postgres.WithIdleInTransactionTimeout(pauseIdle))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Close() })
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	r := newRevoker(t, s, revoke.WithFollow(revoke.FollowPolicy{Interval: time.Hour}))
	parent := "parent-" + prefix
	issueParent(t, r, parent)
	lost := "lost-" + prefix
	holding, resume, held := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		held <- holder.Update(ctx, func(tx revoke.Tx) error {
			if _, err := tx.Get(ctx, []revoke.ID{revoke.TokenID(parent)}); err != nil {
				close(holding)
				return err
			}
			rec := revoke.Record{ID: revoke.TokenID(lost), Kind: revoke.Access, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour).UTC()}
			rec.Grant = rec.ID
			if err := tx.Put(ctx, []revoke.Record{rec}); err != nil {
				return err
			}
			close(holding)
			<-resume
			return nil
		})
	}()
	<-holding
	defer close(resume)

	start := time.Now()
	if err := r.Issue(ctx, childToken("waits-"+prefix, parent)); err != nil {
		t.Fatalf("Issue while a silent transaction holds the write lock: %v after %v", err, time.Since(start))
	}
	t.Logf("Issue behind a silent lock holder (idle timeout %v) succeeded after %v", pauseIdle, time.Since(start))
	resume <- struct{}{}
	if err := <-held; !errors.Is(err, revoke.ErrUnavailable) {
		t.Errorf("the silent holder's Update: err = %v, want ErrUnavailable", err)
	}
	if storedIn(t, s, lost) {
		t.Error("the silent holder's write was stored")
	}
}

// pauseRoleEnv names the environment variable of the re-executed child of
// TestPausedReplicaReleasesTheLock: the table prefix it writes to.
const pauseRoleEnv = "REVOKE_POSTGRES_TEST_PAUSE_PREFIX"

// TestPausedReplicaReleasesTheLock starts a child process that takes the
// lock of a parent token in an Update and says so, then stops it (SIGSTOP,
// as a paused virtual machine or process): another replica's Issue under
// the parent succeeds once the
// server has ended the paused one's session, and the paused replica's
// write is not stored.
func TestPausedReplicaReleasesTheLock(t *testing.T) {
	if prefix := os.Getenv(pauseRoleEnv); prefix != "" {
		pausedChild(prefix)
		return
	}
	ctx := context.Background()
	prefix := freshPrefix(t)
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	r := newRevoker(t, s, revoke.WithFollow(revoke.FollowPolicy{Interval: time.Hour}))
	issueParent(t, r, "parent-"+prefix)

	cmd := exec.Command(os.Args[0], "-test.run=^TestPausedReplicaReleasesTheLock$", "-test.count=1")
	cmd.Env = append(os.Environ(), pauseRoleEnv+"="+prefix)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe() // kept open: the child waits on it
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "holding" {
		t.Fatalf("child: %q, %v; want \"holding\"", lines.Text(), lines.Err())
	}
	if err := cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := r.Issue(ctx, childToken("waits-"+prefix, "parent-"+prefix)); err != nil {
		t.Fatalf("Issue while a paused replica holds the write lock: %v after %v", err, time.Since(start))
	}
	t.Logf("Issue behind a paused replica (idle timeout %v) succeeded after %v", pauseIdle, time.Since(start))
	if storedIn(t, s, "paused-"+prefix) {
		t.Error("the paused replica's write was stored")
	}
}

// pausedChild takes the lock of the parent token of prefix's tables in an
// Update that writes a record, says "holding", and waits for its stdin to
// close.
func pausedChild(prefix string) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix), postgres.WithIdleInTransactionTimeout(pauseIdle))
	if err != nil {
		fmt.Println("open:", err)
		return
	}
	defer s.Close()
	_ = s.Update(ctx, func(tx revoke.Tx) error {
		if _, err := tx.Get(ctx, []revoke.ID{revoke.TokenID("parent-" + prefix)}); err != nil {
			fmt.Println("get:", err)
			return err
		}
		rec := revoke.Record{ID: revoke.TokenID("paused-" + prefix), Kind: revoke.Access, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour).UTC()}
		rec.Grant = rec.ID
		if err := tx.Put(ctx, []revoke.Record{rec}); err != nil {
			return err
		}
		fmt.Println("holding")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
		return nil
	})
}
