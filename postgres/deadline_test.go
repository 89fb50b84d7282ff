package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// holdLock runs an Update of holder that reads the record of parent,
// locking it and its grant, and draws a sequence number, locking the
// sequence, and holds those locks until release is called, or the test
// ends (before cleanups registered earlier, such as holder's Close, run).
// It returns once it holds them: an Issue under parent, or any revocation,
// waits for them. The Update's error is sent on done.
func holdLock(t *testing.T, holder *postgres.Store, parent string) (release func(), done <-chan error) {
	t.Helper()
	holding, stop, errc := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		errc <- holder.Update(context.Background(), func(tx revoke.Tx) error {
			ctx := context.Background()
			if _, err := tx.Get(ctx, []revoke.ID{revoke.TokenID(parent)}); err != nil {
				close(holding)
				return err
			}
			if _, err := tx.NextSeq(ctx); err != nil {
				close(holding)
				return err
			}
			close(holding)
			<-stop
			return nil
		})
	}()
	<-holding
	released := false
	release = func() {
		if !released {
			released = true
			close(stop)
		}
	}
	t.Cleanup(release)
	return release, errc
}

// storedIn reports whether the store holds the record of value.
func storedIn(t *testing.T, s revoke.Store, value string) bool {
	t.Helper()
	var found bool
	err := s.View(context.Background(), func(tx revoke.Tx) error {
		var err error
		_, found, err = getOne(context.Background(), tx, revoke.TokenID(value))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func accessToken(value string) revoke.Token {
	return revoke.Token{Value: value, Kind: revoke.Access, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)}
}

// issueParent issues the refresh token parent through r, for tokens
// issued under it (childToken) to wait for holdLock.
func issueParent(t *testing.T, r *revoke.Revoker, parent string) {
	t.Helper()
	if err := r.Issue(context.Background(), revoke.Token{Value: parent, Kind: revoke.Refresh, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

// childToken is an access token under parent.
func childToken(value, parent string) revoke.Token {
	tok := accessToken(value)
	tok.Parent = parent
	return tok
}

// TestWriteEndsAtItsDeadlineWhileTheLockIsHeld holds the lock of a parent
// token from another Store's transaction: an Issue under it with a 300ms
// deadline returns
// context.DeadlineExceeded, before the 5s lock timeout would fail it, and
// nothing is written.
func TestWriteEndsAtItsDeadlineWhileTheLockIsHeld(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	holder, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix), postgres.WithIdleInTransactionTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Close() }) // after holdLock's release
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	r := newRevoker(t, s)
	parent := "parent-" + prefix
	issueParent(t, r, parent)
	release, held := holdLock(t, holder, parent)

	dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = r.Issue(dctx, childToken("late-"+prefix, parent))
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Issue with a 300ms deadline while the lock is held: err = %v after %v, want context.DeadlineExceeded", err, took)
	}
	if took >= postgres.DefaultLockTimeout {
		t.Errorf("Issue with a 300ms deadline returned after %v, not before the lock timeout", took)
	}
	t.Logf("Issue with a 300ms deadline while the lock is held returned after %v: %v", took, err)
	release()
	if err := <-held; err != nil {
		t.Fatalf("the holder's Update: %v", err)
	}
	if storedIn(t, s, "late-"+prefix) {
		t.Error("the Issue that returned its deadline's error was stored")
	}
	if err := r.Issue(ctx, accessToken("next-"+prefix)); err != nil {
		t.Fatalf("the next Issue: %v", err)
	}
}

// TestWriteEndsAtItsDeadlineWhileTheServerDoesNotAnswer freezes the
// connection to the server (a proxy that passes nothing, as a paused
// server looks to its clients): an Issue with a 300ms deadline returns
// context.DeadlineExceeded rather than wait for the server, and once the
// server answers again nothing was written for it.
func TestWriteEndsAtItsDeadlineWhileTheServerDoesNotAnswer(t *testing.T) {
	ctx := context.Background()
	_, server := dsnVia(t, "")
	px := newProxy(t, server)
	viaProxy, _ := dsnVia(t, px.addr)
	prefix := freshPrefix(t)
	s, err := postgres.Open(ctx, viaProxy, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	r := newRevoker(t, s, revoke.WithFollow(revoke.FollowPolicy{Interval: time.Hour}))
	if err := r.Issue(ctx, accessToken("before-"+prefix)); err != nil {
		t.Fatal(err)
	}

	px.freeze()
	dctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- r.Issue(dctx, accessToken("frozen-"+prefix)) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Issue with a 300ms deadline while the server does not answer: err = %v, want context.DeadlineExceeded", err)
		}
		t.Logf("Issue with a 300ms deadline while the server does not answer returned after %v: %v", time.Since(start), err)
	case <-time.After(30 * time.Second):
		px.unfreeze()
		t.Fatalf("Issue with a 300ms deadline did not return while the server did not answer (30s)")
	}
	px.unfreeze()
	check := openStore(t, prefix)
	if storedIn(t, check, "frozen-"+prefix) {
		t.Error("the Issue that returned its deadline's error was stored")
	}
}

// TestCancelledUpdateDoesNotWaitForTheServer cancels an Update's context
// while the server does not answer (a proxy that passes nothing): Update
// returns the context's error at once, rather than wait for a ROLLBACK the
// server would not answer before the statement timeout.
func TestCancelledUpdateDoesNotWaitForTheServer(t *testing.T) {
	ctx := context.Background()
	_, server := dsnVia(t, "")
	px := newProxy(t, server)
	viaProxy, _ := dsnVia(t, px.addr)
	prefix := freshPrefix(t)
	s, err := postgres.Open(ctx, viaProxy, postgres.WithTablePrefix(prefix), postgres.WithStatementTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- s.Update(cctx, func(tx revoke.Tx) error {
			if _, err := tx.Get(cctx, []revoke.ID{revoke.TokenID("any")}); err != nil {
				return err
			}
			px.freeze() // the server stops answering, then the caller gives up
			cancel()
			return nil
		})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Update cancelled while the server does not answer: err = %v, want context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		px.unfreeze()
		t.Fatal("Update cancelled while the server did not answer did not return (30s)")
	}
	px.unfreeze()
}
