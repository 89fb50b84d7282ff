package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/internal/harness"
	"github.com/sdkauth/revocation/revoke"
)

// refusedClient is the client whose records refusingStore will not hold,
// and panickingClient the one whose records make it panic.
const (
	refusedClient    = "refused-client"
	panickingClient  = "panicking-client"
	panickingMessage = "storetest: the store panics on this record"
)

var errRefused = errors.New("storetest: the store refuses this record")

// refusingStore wraps a backend's Store the way a backend with a per-record
// limit behaves: its transactions refuse to Put a record of refusedClient.
// Once armed, its next Update waits at the gate, so that the writes
// arriving meanwhile queue up into the following shared transaction.
type refusingStore struct {
	revoke.Store
	armed   atomic.Bool
	waiting chan struct{} // closed when the armed Update waits at the gate
	gate    chan struct{}
	mixed   atomic.Bool // a transaction held a refused Put and other writes
}

func (s *refusingStore) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	if s.armed.CompareAndSwap(true, false) {
		close(s.waiting)
		<-s.gate
	}
	return s.Store.Update(ctx, func(tx revoke.Tx) error {
		rt := &refusingTx{Tx: tx}
		defer func() { // also when a Put panics
			if rt.refused && rt.puts > 0 {
				s.mixed.Store(true)
			}
		}()
		return fn(rt)
	})
}

type refusingTx struct {
	revoke.Tx
	puts    int
	refused bool
}

// Put refuses recs when one of them is of refusedClient, and panics when
// one is of panickingClient.
func (t *refusingTx) Put(ctx context.Context, recs []revoke.Record) error {
	for _, rec := range recs {
		if rec.ClientID != panickingClient && rec.ClientID != refusedClient {
			continue
		}
		t.refused = true
		t.puts += len(recs) - 1 // the others of the batch share its fate
		if rec.ClientID == panickingClient {
			panic(panickingMessage)
		}
		return errRefused
	}
	t.puts += len(recs)
	return t.Tx.Put(ctx, recs)
}

// testOneBadWriteFailsAlone: a write the store refuses, with an error or
// with a panic, fails that write alone; the other writes sharing its
// transaction commit.
func testOneBadWriteFailsAlone(t *testing.T, open func(*testing.T) revoke.Store) {
	t.Run("Error", func(t *testing.T) { oneBadWrite(t, open, refusedClient) })
	t.Run("Panic", func(t *testing.T) { oneBadWrite(t, open, panickingClient) })
}

func oneBadWrite(t *testing.T, open func(*testing.T) revoke.Store, badClient string) {
	w := &refusingStore{Store: open(t)}
	c := harness.NewClock()
	r, err := revoke.New(w, revoke.WithClock(c.Now))
	if err != nil {
		t.Fatalf("revoke.New: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	e := &env{&harness.Env{T: t, Ctx: context.Background(), Store: w.Store, Clock: c, R: r}}
	for round := 0; round < 8 && !w.mixed.Load(); round++ {
		badWriteRound(e, w, round, badClient)
		if t.Failed() {
			return
		}
	}
	if !w.mixed.Load() {
		t.Fatal("in 8 rounds no transaction held the refused write together with others; the test did not exercise group commit")
	}
}

// badRound is what the writers of one round of oneBadWrite did.
type badRound struct {
	grants     []grant
	revokeErrs []error
	issued     []revoke.Token
	issueErrs  []error
	poison     revoke.Token
	poisonErr  error
}

// badWriteRound queues Revokes, Issues and the Issue of a record of
// badClient behind a transaction held at w's gate, so that they share the
// next one, and checks each one's outcome.
func badWriteRound(e *env, w *refusingStore, round int, badClient string) {
	t := e.T
	b := badRound{grants: make([]grant, 6), issued: make([]revoke.Token, 6), poison: e.tokenFor(revoke.Access, badClient)}
	for i := range b.grants {
		b.grants[i] = e.NewGrant("c1", 1)
	}
	b.revokeErrs, b.issueErrs = make([]error, len(b.grants)), make([]error, len(b.issued))
	w.waiting, w.gate = make(chan struct{}), make(chan struct{})
	w.armed.Store(true)
	var wg sync.WaitGroup
	lead := make(chan error, 1)
	wg.Go(func() { lead <- e.R.Issue(e.Ctx, e.tokenFor(revoke.Access, "c1")) })
	<-w.waiting // the leader's transaction waits; what comes now queues behind it
	for i, g := range b.grants {
		wg.Go(func() {
			n, err := e.R.Revoke(e.Ctx, g.R[0], "c1")
			if err == nil && n != 2 {
				err = fmt.Errorf("revoked %d tokens, want 2", n)
			}
			b.revokeErrs[i] = err
		})
	}
	for i := range b.issued {
		b.issued[i] = e.tokenFor(revoke.Access, "c1")
		wg.Go(func() { b.issueErrs[i] = e.R.Issue(e.Ctx, b.issued[i]) })
	}
	// The bad write queues last, so that the others' writes come
	// before it in the shared transaction.
	time.Sleep(150 * time.Millisecond) // let them queue behind the leader (Revoke reads first)
	wg.Go(func() { b.poisonErr = e.R.Issue(e.Ctx, b.poison) })
	time.Sleep(100 * time.Millisecond)
	close(w.gate)
	wg.Wait()
	if err := <-lead; err != nil {
		t.Fatalf("round %d: the leader's Issue: %v", round, err)
	}
	checkBadRound(e, b, round, badClient)
}

// checkBadRound checks the outcomes of a round of oneBadWrite: every write
// but the bad one succeeded and is stored, the bad one failed with the
// store's refusal or panic and is not.
func checkBadRound(e *env, b badRound, round int, badClient string) {
	t := e.T
	for i, err := range b.revokeErrs {
		if err != nil {
			t.Errorf("round %d: Revoke %d, sharing a transaction with a refused write: %v", round, i, err)
		}
	}
	for i, err := range b.issueErrs {
		if err != nil {
			t.Errorf("round %d: Issue %d, sharing a transaction with a refused write: %v", round, i, err)
		}
	}
	switch {
	case badClient == refusedClient && !errors.Is(b.poisonErr, errRefused):
		t.Errorf("round %d: the refused Issue: err = %v, want the store's refusal", round, b.poisonErr)
	case badClient == panickingClient && (b.poisonErr == nil || !strings.Contains(b.poisonErr.Error(), panickingMessage)):
		t.Errorf("round %d: the Issue whose record made the store panic: err = %v, want an error naming the panic", round, b.poisonErr)
	}
	if _, found := e.Record(b.poison.Value); found {
		t.Errorf("round %d: the refused record was stored", round)
	}
	for _, g := range b.grants {
		e.WantRevoked("grant revoked beside a refused write", g.All()...)
	}
	for _, tok := range b.issued {
		if _, found := e.Record(tok.Value); !found {
			t.Errorf("round %d: a token issued beside a refused write is not stored", round)
		}
	}
}

// tokenFor returns a fresh token of client, without a parent, valid for an
// hour.
func (e *env) tokenFor(kind revoke.Kind, client string) revoke.Token {
	return revoke.Token{Value: harness.Token(), Kind: kind, ClientID: client, Subject: "alice", ExpiresAt: e.Clock.Now().Add(time.Hour)}
}
