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

// batchStore is a memory store that logs the IDs of the first Get of each
// write transaction and counts the calls after it (a transaction should
// read its declared records in one Get and write in one Put), refuses Puts
// of refusedClient, and, once armed, holds its next Update at the gate, so
// that the writes arriving meanwhile queue into the next shared
// transaction.
type batchStore struct {
	*memory.Store
	failNext atomic.Bool // the next Get fails

	armed   atomic.Bool
	waiting chan struct{} // closed when the armed Update waits at the gate
	gate    chan struct{}

	mu      sync.Mutex
	fetches [][]revoke.ID // the IDs of each Update's first Get, in order
	updates int           // Updates run
	missed  int           // Gets after the first, and Puts after the first, of a transaction
}

const refusedClient = "refused"

var errBatchGet = errors.New("batch Get failed")

func (s *batchStore) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	if s.armed.CompareAndSwap(true, false) {
		close(s.waiting)
		<-s.gate
	}
	s.mu.Lock()
	s.updates++
	s.mu.Unlock()
	return s.Store.Update(ctx, func(tx revoke.Tx) error {
		return fn(&batchTx{Tx: tx, s: s})
	})
}

type batchTx struct {
	revoke.Tx
	s          *batchStore
	gets, puts int
}

func (t *batchTx) Get(ctx context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	t.gets++
	if t.gets == 1 && t.s.failNext.CompareAndSwap(true, false) {
		return nil, errBatchGet
	}
	t.s.mu.Lock()
	if t.gets == 1 {
		sorted := slices.Clone(ids)
		slices.SortFunc(sorted, func(a, b revoke.ID) int { return bytes.Compare(a[:], b[:]) })
		t.s.fetches = append(t.s.fetches, sorted)
	} else {
		t.s.missed++
	}
	t.s.mu.Unlock()
	return t.Tx.Get(ctx, ids)
}

func (t *batchTx) Put(ctx context.Context, recs []revoke.Record) error {
	t.puts++
	if t.puts > 1 {
		t.s.mu.Lock()
		t.s.missed++
		t.s.mu.Unlock()
	}
	for _, rec := range recs {
		if rec.ClientID == refusedClient {
			return errors.New("refused")
		}
	}
	return t.Tx.Put(ctx, recs)
}

// log returns the store's counts and prefetched IDs since the last call.
func (s *batchStore) log() (fetches [][]revoke.ID, updates, missed int) {
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

// TestCommitReadsAndWritesInBatches checks that each write transaction of
// the group committer reads the records its Issues, Revokes, Rotates and
// RevokeUntrackeds declared in one Get, each ID once, and writes in at most
// one Put; that a batch whose Put is refused is split until the refused
// operation runs alone; and that a failed Get fails the transaction's writes and no later
// one.
func TestCommitReadsAndWritesInBatches(t *testing.T) {
	ctx := context.Background()
	s := &batchStore{Store: memory.New()}
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
			t.Errorf("%s: %d Updates, %d Gets or Puts after the first, first Gets %x; want %d Updates, 0 more, %x",
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
	// of them refused at the Put, read their records together, r2 once;
	// the batch is split until the refused one runs alone.
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
			t.Errorf("round %d: %d Gets or Puts after the first of a transaction", round, missed)
		}
		all, alone := ids(append([]string{"r2", refused}, values...)...), ids(refused)
		for i, f := range fetches {
			if slices.Equal(f, all) && slices.ContainsFunc(fetches[i+1:], func(g []revoke.ID) bool { return slices.Equal(g, alone) }) {
				grouped = true
			}
		}
	}
	if !grouped {
		t.Error("in 8 rounds no shared transaction read its Issues' records together and then ran the refused one alone")
	}

	// A failed Get fails the write, and only that transaction.
	s.failNext.Store(true)
	if err := r.Issue(ctx, tok("f1", revoke.Refresh, "")); !errors.Is(err, errBatchGet) {
		t.Errorf("Issue whose Get failed: err = %v, want the Get's error", err)
	}
	if err := r.Issue(ctx, tok("f1", revoke.Refresh, "")); err != nil {
		t.Errorf("Issue after a failed Get: %v", err)
	}
}
