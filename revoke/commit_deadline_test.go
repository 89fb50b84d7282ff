package revoke_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// stallingStore is a memory store whose Updates can be made to wait, the
// way a database waits for a lock another process holds or for a server
// that does not answer: honouring their context, as the Store contract
// asks. Once held (hold), its next Update waits at the gate; while stalled
// (stall), every other Update waits until released or until its context
// ends.
// onGet, when set, is called before each Get of the given ID.
type stallingStore struct {
	*memory.Store

	armed   atomic.Bool
	waiting chan struct{}
	gate    chan struct{}

	stalling atomic.Bool
	stalled  chan struct{} // closed when the first stalled Update waits
	release  chan struct{}
	once     *sync.Once // closes stalled

	mu    sync.Mutex
	onGet map[revoke.ID]func()
}

func (s *stallingStore) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	if s.armed.CompareAndSwap(true, false) {
		close(s.waiting)
		<-s.gate
		return s.update(ctx, fn)
	}
	if s.stalling.Load() {
		s.once.Do(func() { close(s.stalled) })
		select {
		case <-s.release:
		case <-ctx.Done():
			return fmt.Errorf("stalled: %w", ctx.Err())
		}
	}
	return s.update(ctx, fn)
}

func (s *stallingStore) update(ctx context.Context, fn func(revoke.Tx) error) error {
	return s.Store.Update(ctx, func(tx revoke.Tx) error { return fn(&hookTx{Tx: tx, s: s}) })
}

func (s *stallingStore) hold() (release func()) {
	s.waiting, s.gate = make(chan struct{}), make(chan struct{})
	s.armed.Store(true)
	return func() { close(s.gate) }
}

func (s *stallingStore) stall() (release func()) {
	s.stalled, s.release, s.once = make(chan struct{}), make(chan struct{}), new(sync.Once)
	s.stalling.Store(true)
	var once sync.Once
	ch := s.release
	return func() {
		once.Do(func() {
			s.stalling.Store(false)
			close(ch)
		})
	}
}

type hookTx struct {
	revoke.Tx
	s *stallingStore
}

func (t *hookTx) Get(ctx context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	for _, id := range ids {
		t.s.mu.Lock()
		f := t.s.onGet[id]
		t.s.mu.Unlock()
		if f != nil {
			f()
		}
	}
	return t.Tx.Get(ctx, ids)
}

// within returns what ch receives, failing the test if nothing comes
// within 10s (a liveness bound: the call is expected to return at once).
func within(t *testing.T, what string, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not return while the store waited", what)
		return nil
	}
}

func stored(t *testing.T, s revoke.Store, value string) bool {
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

func access(v string) revoke.Token {
	return revoke.Token{Value: v, Kind: revoke.Access, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)}
}

// TestWriteReturnsWhenItsContextEndsWhileTheStoreWaits checks that an Issue
// whose transaction waits in the store (for a lock, a server that does not
// answer) returns its context's error when its context ends, without
// waiting for the store, and that nothing is written for it.
func TestWriteReturnsWhenItsContextEndsWhileTheStoreWaits(t *testing.T) {
	s := &stallingStore{Store: memory.New()}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	release := s.stall()
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Issue(ctx, access("t1")) }()
	<-s.stalled
	cancel()
	if err := within(t, "an Issue whose context was cancelled", done); !errors.Is(err, context.Canceled) {
		t.Fatalf("Issue: err = %v, want context.Canceled", err)
	}
	release()
	if stored(t, s, "t1") {
		t.Error("the cancelled Issue was stored")
	}
	if err := r.Issue(context.Background(), access("t2")); err != nil || !stored(t, s, "t2") {
		t.Fatalf("the next Issue: %v", err)
	}
}

// TestCallerGivingUpLeavesItsSharedTransaction checks that a caller whose
// context ends while the transaction it shares with another waits in the
// store returns at once with its context's error, whether it leads the
// transaction or not, and that the other's write commits without its own.
func TestCallerGivingUpLeavesItsSharedTransaction(t *testing.T) {
	for _, givesUpFirst := range []bool{false, true} {
		name := "Follower"
		if givesUpFirst {
			name = "Leader"
		}
		t.Run(name, func(t *testing.T) { giveUpInBatch(t, givesUpFirst) })
	}
}

func giveUpInBatch(t *testing.T, givesUpFirst bool) {
	s := &stallingStore{Store: memory.New()}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	bg := context.Background()
	open := s.hold()
	held := make(chan error, 1)
	go func() { held <- r.Issue(bg, access("held")) }()
	<-s.waiting

	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	stays, quits := make(chan error, 1), make(chan error, 1)
	queue := []func(){
		func() { stays <- r.Issue(bg, access("stays")) },
		func() { quits <- r.Issue(ctx, access("quits")) },
	}
	if givesUpFirst {
		queue[0], queue[1] = queue[1], queue[0]
	}
	for i, f := range queue {
		go f()
		waitQueued(t, r, i+1)
	}
	release := s.stall()
	defer release()
	open()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	<-s.stalled // the transaction of the two waits in the store
	cancel()
	if err := within(t, "the Issue whose context was cancelled", quits); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Issue: err = %v, want context.Canceled", err)
	}
	release()
	if err := within(t, "the other Issue", stays); err != nil {
		t.Fatalf("the Issue sharing a transaction with a cancelled one: %v", err)
	}
	if stored(t, s, "quits") {
		t.Error("the cancelled Issue was stored")
	}
	if !stored(t, s, "stays") {
		t.Error("the Issue sharing a transaction with a cancelled one was not stored")
	}
}

// TestCallerGivingUpBeforeTheCommitWritesNothing checks that a caller whose
// context ends while its transaction runs, before the commit, gets its
// context's error and nothing is written for it, while the write sharing
// its transaction commits; alone in its transaction, too.
func TestCallerGivingUpBeforeTheCommitWritesNothing(t *testing.T) {
	bg := context.Background()
	s := &stallingStore{Store: memory.New(), onGet: map[revoke.ID]func(){}}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	// Alone: its context ends while it reads.
	ctx, cancel := context.WithCancel(bg)
	s.mu.Lock()
	s.onGet[revoke.TokenID("alone")] = cancel
	s.mu.Unlock()
	if err := r.Issue(ctx, access("alone")); !errors.Is(err, context.Canceled) {
		t.Errorf("Issue whose context ended before its commit: err = %v, want context.Canceled", err)
	}
	if stored(t, s, "alone") {
		t.Error("an Issue whose context ended before its commit was stored")
	}

	// Shared: its context ends while the other operation reads.
	open := s.hold()
	held := make(chan error, 1)
	go func() { held <- r.Issue(bg, access("held")) }()
	<-s.waiting
	ctx, cancel = context.WithCancel(bg)
	defer cancel()
	s.mu.Lock()
	s.onGet[revoke.TokenID("first")] = cancel
	s.mu.Unlock()
	first, second := make(chan error, 1), make(chan error, 1)
	go func() { first <- r.Issue(bg, access("first")) }()
	waitQueued(t, r, 1)
	go func() { second <- r.Issue(ctx, access("second")) }()
	waitQueued(t, r, 2)
	open()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Errorf("Issue whose context ended before the shared commit: err = %v, want context.Canceled", err)
	}
	if err := <-first; err != nil {
		t.Errorf("the Issue sharing its transaction: %v", err)
	}
	if stored(t, s, "second") {
		t.Error("an Issue whose context ended before the shared commit was stored")
	}
	if !stored(t, s, "first") {
		t.Error("the Issue sharing a transaction with a cancelled one was not stored")
	}
}
