package revoke_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// laterClient is the client whose records laterStore refuses, not when they
// are Put but later: at the next read of the transaction or at its commit,
// as a store that buffers its writes and sends them in one statement does.
const laterClient = "refused-later"

var errRefusedLater = errors.New("the store refuses a record it was sent")

// laterStore is a memory store whose write transactions refuse a record of
// laterClient after its Put: at the commit, or, with atRead set, at the
// next read of the transaction (by whichever operation reads next). It
// counts, per ID, the committed transactions that Put it. Once armed, its
// next Update waits at the gate, so that the writes arriving meanwhile
// queue into the next shared transaction.
type laterStore struct {
	*memory.Store
	atRead bool

	armed   atomic.Bool
	waiting chan struct{} // closed when the armed Update waits at the gate
	gate    chan struct{}

	mu        sync.Mutex
	committed map[revoke.ID]int
	updates   int
}

func (s *laterStore) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	if s.armed.CompareAndSwap(true, false) {
		close(s.waiting)
		<-s.gate
	}
	var puts []revoke.ID
	err := s.Store.Update(ctx, func(tx revoke.Tx) error {
		lt := &laterTx{Tx: tx, atRead: s.atRead}
		if err := fn(lt); err != nil {
			return err
		}
		if lt.refused {
			return fmt.Errorf("commit: %w", errRefusedLater)
		}
		puts = lt.puts
		return nil
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates++
	if err == nil {
		for _, id := range puts {
			s.committed[id]++
		}
	}
	return err
}

// hold makes the next Update wait until release is called.
func (s *laterStore) hold() (release func()) {
	s.waiting, s.gate = make(chan struct{}), make(chan struct{})
	s.armed.Store(true)
	return func() { close(s.gate) }
}

type laterTx struct {
	revoke.Tx
	atRead  bool
	refused bool // a record of laterClient was Put
	puts    []revoke.ID
}

func (t *laterTx) Put(ctx context.Context, recs []revoke.Record) error {
	for _, rec := range recs {
		if rec.ClientID == laterClient {
			t.refused = true
		}
		t.puts = append(t.puts, rec.ID)
	}
	return t.Tx.Put(ctx, recs)
}

// read is what a read of the transaction meets first: the refusal of a
// record Put before it, with atRead.
func (t *laterTx) read() error {
	if t.atRead && t.refused {
		return fmt.Errorf("flush before a read: %w", errRefusedLater)
	}
	return nil
}

func (t *laterTx) Get(ctx context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	return t.Tx.Get(ctx, ids)
}

func (t *laterTx) RevokeGrants(ctx context.Context, seq uint64, grants []revoke.ID) ([]revoke.Revocation, error) {
	if err := t.read(); err != nil {
		return nil, err
	}
	return t.Tx.RevokeGrants(ctx, seq, grants)
}

// waitQueued waits until n writes wait in r's committer.
func waitQueued(t *testing.T, r *revoke.Revoker, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for revoke.Queued(r) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued after 10s, want %d", revoke.Queued(r), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStoreFailureFailsItsOperationAlone checks that a write the store
// refuses only after its Put (at the commit, or at the next read of the
// shared transaction, which may be another operation's) fails that write
// alone: every other Issue and Revoke of its transaction succeeds, and
// each innocent Issue is committed exactly once.
func TestStoreFailureFailsItsOperationAlone(t *testing.T) {
	for _, c := range []struct {
		name   string
		atRead bool
		bad    []int // positions of the refused Issues in the queue
	}{
		{"AtCommit", false, []int{5}},
		{"AtCommitTwo", false, []int{0, 11}},
		{"AtNextRead", true, []int{5}},
		{"AtNextReadTwo", true, []int{3, 4, 15}},
	} {
		t.Run(c.name, func(t *testing.T) { storeFailureAlone(t, c.atRead, c.bad) })
	}
}

// blameWrite is a write of storeFailureAlone: an Issue of tok, or a Revoke
// of the grant of revo.
type blameWrite struct {
	tok  revoke.Token
	bad  bool
	revo string

	err error
	n   int
}

func (w *blameWrite) run(ctx context.Context, r *revoke.Revoker) {
	if w.revo != "" {
		w.n, w.err = r.Revoke(ctx, w.revo, "c")
		return
	}
	w.err = r.Issue(ctx, w.tok)
}

// blameWrites returns n writes: Issues (every third under the parent "p"),
// those at the positions of bad refused, and a Revoke of the grant of
// "r<i>" every fifth, for the first grants.
func blameWrites(n, grants int, bad []int) []*blameWrite {
	exp := time.Now().Add(time.Hour)
	ws := make([]*blameWrite, n)
	for i := range ws {
		w := &blameWrite{}
		ws[i] = w
		if i%5 == 4 && i/5 < grants {
			w.revo = fmt.Sprint("r", i/5)
			continue
		}
		w.tok = revoke.Token{Value: fmt.Sprint("t", i), Kind: revoke.Access, ClientID: "c", ExpiresAt: exp}
		if i%3 == 1 {
			w.tok.Parent = "p" // a read of the parent besides
		}
		if slices.Contains(bad, i) {
			w.bad, w.tok.ClientID = true, laterClient
		}
	}
	return ws
}

func storeFailureAlone(t *testing.T, atRead bool, bad []int) {
	ctx := context.Background()
	s := &laterStore{Store: memory.New(), atRead: atRead, committed: map[revoke.ID]int{}}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	exp := time.Now().Add(time.Hour)
	// Grants to revoke in the shared transaction, whose cascades read, and
	// a parent to issue under.
	const grants = 4
	for i := range grants {
		r0, a0 := fmt.Sprint("r", i), fmt.Sprint("a", i)
		if err := r.Issue(ctx, revoke.Token{Value: r0, Kind: revoke.Refresh, ClientID: "c", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		if err := r.Issue(ctx, revoke.Token{Value: a0, Kind: revoke.Access, ClientID: "c", Parent: r0, ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Issue(ctx, revoke.Token{Value: "p", Kind: revoke.Refresh, ClientID: "c", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}

	// Queue the writes, in order, behind a held transaction: the next
	// transaction holds them all.
	release := s.hold()
	held := make(chan error, 1)
	go func() {
		held <- r.Issue(ctx, revoke.Token{Value: "held", Kind: revoke.Access, ClientID: "c", ExpiresAt: exp})
	}()
	<-s.waiting
	writes := blameWrites(20, grants, bad)
	var wg sync.WaitGroup
	for i, w := range writes {
		wg.Go(func() { w.run(ctx, r) })
		waitQueued(t, r, i+1)
	}
	s.mu.Lock()
	before := s.updates
	s.mu.Unlock()
	release()
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatalf("the held Issue: %v", err)
	}
	for i, w := range writes {
		checkBlame(t, r, s, i, w)
	}
	s.mu.Lock()
	t.Logf("%d refused among %d writes: %d transactions after the held one", len(bad), len(writes), s.updates-before-1)
	s.mu.Unlock()
}

// checkBlame checks the outcome of the write at position i.
func checkBlame(t *testing.T, r *revoke.Revoker, s *laterStore, i int, w *blameWrite) {
	t.Helper()
	switch {
	case w.revo != "":
		if w.err != nil || w.n != 2 {
			t.Errorf("Revoke %s at %d = (%d, %v), want (2, nil)", w.revo, i, w.n, w.err)
		}
	case w.bad:
		if !errors.Is(w.err, errRefusedLater) {
			t.Errorf("refused Issue at %d: err = %v, want the store's refusal", i, w.err)
		}
		if n, err := r.Revoke(context.Background(), w.tok.Value, laterClient); n != 0 || err != nil {
			t.Errorf("refused token at %d: Revoke = (%d, %v), want (0, nil): never stored", i, n, err)
		}
	default:
		if w.err != nil {
			t.Errorf("Issue at %d, sharing a transaction with a refused write: %v", i, w.err)
		}
		s.mu.Lock()
		n := s.committed[revoke.TokenID(w.tok.Value)]
		s.mu.Unlock()
		if n != 1 {
			t.Errorf("Issue at %d committed %d times, want once", i, n)
		}
	}
}

// rerunStore is a memory store that, as a store on a database server may,
// runs a transaction's function again when the server rolled it back for a
// conflict with another: once armed, the next RevokeGrants fails with such
// a conflict, and the Get that follows (the first read of the function run
// again) fails with errReadOnce, an error of that read alone. Its next
// Update after hold waits at the gate, as laterStore's does.
type rerunStore struct {
	*memory.Store
	conflict  atomic.Bool
	readFails atomic.Bool

	armed   atomic.Bool
	waiting chan struct{}
	gate    chan struct{}
}

var (
	errConflict = errors.New("rolled back for a conflict with another transaction")
	errReadOnce = errors.New("a read failed, once")
)

func (s *rerunStore) hold() (release func()) {
	s.waiting, s.gate = make(chan struct{}), make(chan struct{})
	s.armed.Store(true)
	return func() { close(s.gate) }
}

func (s *rerunStore) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	if s.armed.CompareAndSwap(true, false) {
		close(s.waiting)
		<-s.gate
	}
	for {
		err := s.Store.Update(ctx, func(tx revoke.Tx) error { return fn(&rerunTx{Tx: tx, s: s}) })
		if !errors.Is(err, errConflict) {
			return err
		}
	}
}

type rerunTx struct {
	revoke.Tx
	s *rerunStore
}

func (t *rerunTx) Get(ctx context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	if t.s.readFails.CompareAndSwap(true, false) {
		return nil, errReadOnce
	}
	return t.Tx.Get(ctx, ids)
}

func (t *rerunTx) RevokeGrants(ctx context.Context, seq uint64, grants []revoke.ID) ([]revoke.Revocation, error) {
	if t.s.conflict.CompareAndSwap(true, false) {
		t.s.readFails.Store(true)
		return nil, errConflict
	}
	return t.Tx.RevokeGrants(ctx, seq, grants)
}

// TestStoreRunningTheTransactionAgainBlamesNoOperation checks that when
// the store runs a shared transaction's function again (after a conflict
// met by its first operation's cascade) and that second run fails at its
// first read, before any operation ran, the failure is not charged to the
// operation that met the conflict in the first run: the transaction is
// split as for any failure outside the operations, and both writes commit.
func TestStoreRunningTheTransactionAgainBlamesNoOperation(t *testing.T) {
	ctx := context.Background()
	s := &rerunStore{Store: memory.New()}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	exp := time.Now().Add(time.Hour)
	mustDo(t, r.Issue(ctx, revoke.Token{Value: "r", Kind: revoke.Refresh, ClientID: "c", ExpiresAt: exp}))
	mustDo(t, r.Issue(ctx, revoke.Token{Value: "a", Kind: revoke.Access, ClientID: "c", Parent: "r", ExpiresAt: exp}))

	// The Revoke first, then an Issue, in one transaction behind a held one.
	release := s.hold()
	held := make(chan error, 1)
	go func() {
		held <- r.Issue(ctx, revoke.Token{Value: "held", Kind: revoke.Access, ClientID: "c", ExpiresAt: exp})
	}()
	<-s.waiting
	var (
		wg      sync.WaitGroup
		n       int
		revErr  error
		issuErr error
	)
	wg.Go(func() { n, revErr = r.Revoke(ctx, "r", "c") })
	waitQueued(t, r, 1)
	wg.Go(func() {
		issuErr = r.Issue(ctx, revoke.Token{Value: "x", Kind: revoke.Access, ClientID: "c", ExpiresAt: exp})
	})
	waitQueued(t, r, 2)
	s.conflict.Store(true)
	release()
	wg.Wait()
	mustDo(t, <-held)
	if revErr != nil || n != 2 {
		t.Errorf("Revoke = (%d, %v), want (2, nil): the read that failed was no operation's", n, revErr)
	}
	if issuErr != nil {
		t.Errorf("Issue: %v", issuErr)
	}
	if s.conflict.Load() || s.readFails.Load() {
		t.Fatal("the store met no conflict: the test shows nothing")
	}
}
