package revoke_test

import (
	"context"
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
