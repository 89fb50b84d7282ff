package revoke_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// panicStore panics in the next Update after arm is set.
type panicStore struct {
	*memory.Store
	arm atomic.Bool
}

func (s *panicStore) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	if s.arm.CompareAndSwap(true, false) {
		panic("disk on fire")
	}
	return s.Store.Update(ctx, fn)
}

// TestStorePanicFailsTheWrite checks that a store panicking in Update fails
// that write with an error and leaves later writes working.
func TestStorePanicFailsTheWrite(t *testing.T) {
	ctx := context.Background()
	s := &panicStore{Store: memory.New()}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tok := revoke.Token{Value: "t1", Kind: revoke.Access, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)}
	s.arm.Store(true)
	if err := r.Issue(ctx, tok); err == nil {
		t.Fatal("Issue succeeded although the store panicked")
	}
	done := make(chan error, 1)
	go func() { done <- r.Issue(ctx, tok) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Issue after the panic: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Issue after a store panic never returned")
	}
	if n, err := r.Revoke(ctx, "t1", "c"); err != nil || n != 1 {
		t.Fatalf("Revoke = (%d, %v), want (1, nil)", n, err)
	}
}

// blockingStore holds every Update until release is closed, once armed.
type blockingStore struct {
	*memory.Store
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func (s *blockingStore) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	if s.armed.CompareAndSwap(true, false) {
		close(s.entered)
		<-s.release
	}
	return s.Store.Update(ctx, fn)
}

// TestQueuedWriteHonoursItsContext checks that a write queued behind a
// transaction that does not end returns when its own context is done, and
// is never written.
func TestQueuedWriteHonoursItsContext(t *testing.T) {
	ctx := context.Background()
	s := &blockingStore{Store: memory.New(), entered: make(chan struct{}), release: make(chan struct{})}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	exp := time.Now().Add(time.Hour)
	s.armed.Store(true)
	first := make(chan error, 1)
	go func() {
		first <- r.Issue(ctx, revoke.Token{Value: "first", Kind: revoke.Access, ClientID: "c", ExpiresAt: exp})
	}()
	<-s.entered // the first write's transaction is stuck

	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- r.Issue(tctx, revoke.Token{Value: "second", Kind: revoke.Access, ClientID: "c", ExpiresAt: exp})
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("queued Issue: err = %v, want DeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a queued Issue did not return when its context expired")
	}
	close(s.release)
	if err := <-first; err != nil {
		t.Fatalf("the first Issue: %v", err)
	}
	// Later writes still go through, and the abandoned one was never written.
	if err := r.Issue(ctx, revoke.Token{Value: "third", Kind: revoke.Access, ClientID: "c", ExpiresAt: exp}); err != nil {
		t.Fatalf("Issue after an abandoned one: %v", err)
	}
	if n, err := r.Revoke(ctx, "second", "c"); err != nil || n != 0 {
		t.Fatalf("Revoke of the abandoned token = (%d, %v), want (0, nil): it was never issued", n, err)
	}
}
