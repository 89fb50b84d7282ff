package revoke_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// prefetchStore is a memory store whose write transactions are
// revoke.Prefetchers. It logs what each transaction prefetched and counts
// the Gets of IDs it had not, refuses Puts of refusedClient, and, once
// armed, holds its next Update at the gate, so that the writes arriving
// meanwhile queue into the next shared transaction.
type prefetchStore struct {
	*memory.Store
	failNext atomic.Bool // the next Prefetch fails

	armed   atomic.Bool
	waiting chan struct{} // closed when the armed Update waits at the gate
	gate    chan struct{}

	mu      sync.Mutex
	fetches [][]revoke.ID // one per Update that prefetched, in order
	updates int           // Updates run
	missed  int           // Gets of IDs not prefetched in their transaction
}

const refusedClient = "refused"

var errPrefetch = errors.New("prefetch failed")

func (s *prefetchStore) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	if s.armed.CompareAndSwap(true, false) {
		close(s.waiting)
		<-s.gate
	}
	s.mu.Lock()
	s.updates++
	s.mu.Unlock()
	return s.Store.Update(ctx, func(tx revoke.Tx) error {
		return fn(&prefetchTx{Tx: tx, s: s})
	})
}

type prefetchTx struct {
	revoke.Tx
	s       *prefetchStore
	fetched map[revoke.ID]bool
}

func (t *prefetchTx) Prefetch(_ context.Context, ids []revoke.ID) error {
	if t.s.failNext.CompareAndSwap(true, false) {
		return errPrefetch
	}
	t.s.mu.Lock()
	t.s.fetches = append(t.s.fetches, slices.Clone(ids))
	t.s.mu.Unlock()
	if t.fetched == nil {
		t.fetched = make(map[revoke.ID]bool)
	}
	for _, id := range ids {
		t.fetched[id] = true
	}
	return nil
}

func (t *prefetchTx) Get(ctx context.Context, id revoke.ID) (revoke.Record, bool, error) {
	if !t.fetched[id] {
		t.s.mu.Lock()
		t.s.missed++
		t.s.mu.Unlock()
	}
	return t.Tx.Get(ctx, id)
}

func (t *prefetchTx) Put(ctx context.Context, rec revoke.Record) error {
	if rec.ClientID == refusedClient {
		return errors.New("refused")
	}
	return t.Tx.Put(ctx, rec)
}

// log returns the store's counts and prefetched IDs since the last call.
func (s *prefetchStore) log() (fetches [][]revoke.ID, updates, missed int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fetches, updates, missed = s.fetches, s.updates, s.missed
	s.fetches, s.updates, s.missed = nil, 0, 0
	return fetches, updates, missed
}

func ids(tokens ...string) []revoke.ID {
	var out []revoke.ID
	for _, tok := range tokens {
		out = append(out, revoke.TokenID(tok))
	}
	slices.SortFunc(out, func(a, b revoke.ID) int { return bytes.Compare(a[:], b[:]) })
	return out
}

// TestCommitPrefetchesReads checks that each write transaction of the group
// committer prefetches, once, the IDs its Issues, Revokes, Rotates and
// RevokeUntrackeds read, each once and in order, so that none of the reads
// they start with misses; that a retry without a refused operation
// prefetches again without its IDs; and that a failed Prefetch fails the
// transaction's writes and no later one.
func TestCommitPrefetchesReads(t *testing.T) {
	ctx := context.Background()
	s := &prefetchStore{Store: memory.New()}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	exp := time.Now().Add(time.Hour)
	tok := func(v string, kind revoke.Kind, parent string) revoke.Token {
		return revoke.Token{Value: v, Kind: kind, ClientID: "c", Parent: parent, ExpiresAt: exp}
	}
	check := func(step string, want ...[]revoke.ID) {
		t.Helper()
		fetches, updates, missed := s.log()
		if updates != len(want) || missed != 0 || !slices.EqualFunc(fetches, want, slices.Equal) {
			t.Errorf("%s: %d Updates, %d Gets not prefetched, prefetched %x; want %d Updates, 0 missed, %x",
				step, updates, missed, fetches, len(want), want)
		}
	}

	if err := r.Issue(ctx, tok("r1", revoke.Refresh, "")); err != nil {
		t.Fatal(err)
	}
	check("Issue", ids("r1"))
	if err := r.Issue(ctx, tok("a1", revoke.Access, "r1")); err != nil {
		t.Fatal(err)
	}
	check("Issue under a parent", ids("a1", "r1"))
	if err := r.Rotate(ctx, "r1", tok("r2", revoke.Refresh, "")); err != nil {
		t.Fatal(err)
	}
	check("Rotate", ids("r1", "r2"))
	if n, err := r.Revoke(ctx, "a1", "c"); err != nil || n != 1 {
		t.Fatalf("Revoke = (%d, %v), want (1, nil)", n, err)
	}
	check("Revoke", ids("a1"))
	if n, err := r.RevokeUntracked(ctx, "jwt", "c", exp); err != nil || n != 1 {
		t.Fatalf("RevokeUntracked = (%d, %v), want (1, nil)", n, err)
	}
	check("RevokeUntracked", ids("jwt"))

	// A shared transaction: Issues under r2 queued behind a held one, one
	// of them refused, prefetch their reads together, r2 once; the retry
	// without the refused one prefetches again, without its ID.
	grouped := false
	for round := 0; round < 8 && !grouped; round++ {
		s.waiting, s.gate = make(chan struct{}), make(chan struct{})
		s.armed.Store(true)
		lead := make(chan error, 1)
		held := "held" + string(rune('a'+round))
		go func() { lead <- r.Issue(ctx, tok(held, revoke.Refresh, "")) }()
		<-s.waiting
		var wg sync.WaitGroup
		var values []string
		for i := range 4 {
			v := held + "-" + string(rune('0'+i))
			values = append(values, v)
			wg.Go(func() {
				if err := r.Issue(ctx, tok(v, revoke.Access, "r2")); err != nil {
					t.Errorf("Issue %s: %v", v, err)
				}
			})
		}
		refused := held + "-refused"
		wg.Go(func() {
			bad := tok(refused, revoke.Access, "")
			bad.ClientID = refusedClient
			if err := r.Issue(ctx, bad); err == nil {
				t.Errorf("the refused Issue succeeded")
			}
		})
		time.Sleep(50 * time.Millisecond) // let them queue behind the held transaction
		close(s.gate)
		wg.Wait()
		if err := <-lead; err != nil {
			t.Fatal(err)
		}
		fetches, _, missed := s.log()
		if missed != 0 {
			t.Errorf("round %d: %d Gets not prefetched", round, missed)
		}
		all, kept := ids(append([]string{"r2", refused}, values...)...), ids(append([]string{"r2"}, values...)...)
		for i, f := range fetches {
			if slices.Equal(f, all) && i+1 < len(fetches) && slices.Equal(fetches[i+1], kept) {
				grouped = true
			}
		}
	}
	if !grouped {
		t.Error("in 8 rounds no shared transaction prefetched its Issues' reads together, and again without the refused one")
	}

	// A failed Prefetch fails the write, and only that transaction.
	s.failNext.Store(true)
	if err := r.Issue(ctx, tok("f1", revoke.Refresh, "")); !errors.Is(err, errPrefetch) {
		t.Errorf("Issue whose Prefetch failed: err = %v, want the Prefetch's error", err)
	}
	if err := r.Issue(ctx, tok("f1", revoke.Refresh, "")); err != nil {
		t.Errorf("Issue after a failed Prefetch: %v", err)
	}
}
