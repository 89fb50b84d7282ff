package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/internal/harness"
	"github.com/sdkauth/revocation/revoke"
)

// Run runs the conformance suite against the Store that open returns. open
// is called once per subtest and must return a fresh, empty Store; the
// suite closes it (through revoke.Revoker.Close) when the subtest ends.
// Each Tx method's contract is a named subtest per property (Get/Batch,
// RevokeGrants/OnlyLiveRecords, ...), checked on the Store directly, and so
// is each rule of the revoke package, exercised through revoke.New(store)
// as an application would. A Store whose Capabilities declare Shared fails
// unless WithReopen gives the suite a second Store over the same data,
// which SecondStoreOverSameData races against the first.
func Run(t *testing.T, open func(t *testing.T) revoke.Store, opts ...Option) {
	var cfg config
	for _, opt := range opts {
		opt(&cfg)
	}
	tests := []struct {
		name string
		fn   func(*testing.T, func(*testing.T) revoke.Store)
	}{
		{"RevokeRefreshCascadesRotatedGrant", testRevokeRefreshCascades},
		{"RawTokensNotStored", testRawTokensNotStored},
		{"IndexLoadedAtNew", testIndexLoadedAtNew},
		{"Rollback", testRollback},
		{"Sequence", testSequence},
		{"Purge", testPurge},
		{"PurgeInBatches", testPurgeInBatches},
		{"CancelledContext", testCancelledContext},
		{"ConcurrentIssueAndRevoke", testConcurrentIssueAndRevoke},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Closed", testClosed},
		{"OneRevokerPerStore", testOneRevokerPerStore},
		{"OneBadWriteFailsAlone", testOneBadWriteFailsAlone},
		{"ScanAllCopy", testScanAllCopy},
		{"NextSeqNeverWraps", testNextSeqNeverWraps},
		{"BadInputAmongGoodWrites", testBadInputAmongGoodWrites},
		{"ByteExactStrings", testByteExactStrings},
		{"ViewIsOneSnapshot", testViewSnapshot},
		{"StatusRefRoundTrip", testStatusRefRoundTrip},
		{"StatusesFollowRevocations", testStatusesFollowRevocations},
		{"SecondStoreOverSameData", func(t *testing.T, open func(*testing.T) revoke.Store) {
			testSecondStore(t, open, cfg.reopen)
		}},
	}
	tests = append(tests, lifecycleTests...)
	runContract(t, open)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

func testRevokeRefreshCascades(t *testing.T, open func(*testing.T) revoke.Store) {
	for _, pick := range []struct {
		name string
		idx  int
	}{{"Root", 0}, {"Middle", 1}, {"Newest", 2}} {
		t.Run(pick.name, func(t *testing.T) {
			e := setup(t, open)
			g := e.NewGrant("c1", 3)
			extra := e.Issue(revoke.Access, "c1", g.R[0], time.Hour)
			e.Revoke(g.R[pick.idx], "c1", 7)
			e.WantRevoked("refresh", g.R...)
			e.WantRevoked("access", append(g.A, extra)...)
			// A revocation is stored, not only indexed.
			for i, tok := range g.All() {
				if rec, found := e.Record(tok); !found || !rec.Revoked() {
					t.Errorf("stored record %d: found %v, revoked %v; want a revoked record", i, found, rec.Revoked())
				}
			}
		})
	}
}

func testRawTokensNotStored(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	g := e.NewGrant("c1", 2)
	e.Revoke(g.R[1], "c1", 4)
	for i, tok := range g.All() {
		rec, found := e.Record(tok)
		if !found {
			t.Fatalf("token %d: no record under its SHA-256", i)
		}
		if rec.ID != revoke.TokenID(tok) || rec.Check != revoke.Checksum(tok) {
			t.Errorf("token %d: record keyed %s with check %#x, want SHA-256 %s and CRC-32C %#x",
				i, rec.ID, rec.Check, revoke.TokenID(tok), revoke.Checksum(tok))
		}
		for _, field := range []string{rec.ClientID, rec.Subject} {
			for _, raw := range g.All() {
				if field == raw {
					t.Errorf("token %d: a raw token value is stored in a record field", i)
				}
			}
		}
	}
	if rec, _ := e.Record(g.A[1]); rec.Parent != revoke.TokenID(g.R[1]) || rec.Grant != revoke.TokenID(g.R[0]) {
		t.Error("record's Parent and Grant are not the SHA-256 of the parent and root tokens")
	}
}

func testIndexLoadedAtNew(t *testing.T, open func(*testing.T) revoke.Store) {
	// The first Revoker runs without a follower and is closed (leaving the
	// store open) before the second starts, so the second one's answers
	// can only come from what New loaded.
	s := open(t)
	c := harness.NewClock()
	r1, err := revoke.New(harness.KeepOpen{Store: s}, revoke.WithClock(c.Now), revoke.WithFollow(revoke.FollowPolicy{Interval: 0}))
	if err != nil {
		t.Fatalf("revoke.New: %v", err)
	}
	e := &env{&harness.Env{T: t, Ctx: context.Background(), Store: s, Clock: c, R: r1}}
	g := e.NewGrant("c1", 2)
	live := e.NewGrant("c1", 1)
	e.Revoke(g.R[0], "c1", 4)
	if err := r1.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	r2, err := revoke.New(s, revoke.WithClock(c.Now))
	if err != nil {
		t.Fatalf("second revoke.New over the same store: %v", err)
	}
	t.Cleanup(func() { _ = r2.Close() })
	e.R = r2
	e.WantRevoked("grant seen by a new Revoker", g.All()...)
	e.WantLive("live grant seen by a new Revoker", live.All()...)
}

func testRollback(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	ctx := e.Ctx
	kept := e.Issue(revoke.Refresh, "c1", "", time.Hour)
	keptRec, _ := e.Record(kept)
	boom := errors.New("boom")
	fresh := revoke.Record{ID: revoke.TokenID(harness.Token()), Kind: revoke.Access, ClientID: "c1", ExpiresAt: e.Clock.Now().Add(time.Hour)}
	fresh.Grant = keptRec.ID
	var seqInFailed uint64
	err := e.Store.Update(ctx, func(tx revoke.Tx) error {
		if err := tx.Put(ctx, []revoke.Record{fresh}); err != nil {
			return err
		}
		changed := keptRec
		changed.ClientID = "changed"
		var err error
		if seqInFailed, err = tx.NextSeq(ctx); err != nil {
			return err
		}
		changed.Seq = seqInFailed
		if err := tx.Put(ctx, []revoke.Record{changed}); err != nil {
			return err
		}
		if _, found, err := getOne(ctx, tx, fresh.ID); err != nil || !found {
			return fmt.Errorf("a transaction does not see its own Put: found %v, err %v", found, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update whose fn failed returned %v, want the fn's error", err)
	}
	if _, found := e.RecordByID(fresh.ID); found {
		t.Error("a rolled-back Put is visible")
	}
	if got, _ := e.Record(kept); got.ClientID != "c1" || got.Revoked() {
		t.Errorf("a rolled-back replace is visible: client %q, revoked %v", got.ClientID, got.Revoked())
	}
	err = e.Store.Update(ctx, func(tx revoke.Tx) error {
		if err := tx.Delete(ctx, []revoke.ID{keptRec.ID}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update whose fn failed returned %v, want the fn's error", err)
	}
	if _, found := e.Record(kept); !found {
		t.Error("a rolled-back Delete is visible")
	}
	var grantSize int
	err = e.Store.View(ctx, func(tx revoke.Tx) error {
		recs, err := members(ctx, tx, keptRec.ID)
		grantSize = len(recs)
		return err
	})
	if err != nil || grantSize != 1 {
		t.Errorf("grant index after rollbacks: %d members (err %v), want 1", grantSize, err)
	}
	e.WantLive("kept", kept)
	e.Revoke(kept, "c1", 1)
}

func testSequence(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	ctx := e.Ctx
	last := drawIncreasingSeqs(t, e)
	// Revocations come back in sequence order, each once.
	var toks []string
	for range 5 {
		at := e.Issue(revoke.Access, "c1", "", time.Hour)
		toks = append(toks, at)
		e.Revoke(at, "c1", 1)
	}
	g := e.NewGrant("c1", 2)
	e.Revoke(g.R[0], "c1", 4)
	var revs []revoke.Revocation
	err := e.Store.View(ctx, func(tx revoke.Tx) error {
		return tx.RevokedSince(ctx, last, func(rev revoke.Revocation) error {
			revs = append(revs, rev)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 9 {
		t.Fatalf("RevokedSince returned %d revocations, want 9", len(revs))
	}
	checkRevocationsInOrder(t, revs, last)
	checkRevocationsAreTokens(t, revs, toks)
	cut := revs[4].Seq
	n := 0
	err = e.Store.View(ctx, func(tx revoke.Tx) error {
		return tx.RevokedSince(ctx, cut, func(revoke.Revocation) error { n++; return nil })
	})
	if err != nil || n != 4 {
		t.Errorf("RevokedSince(the 5th's Seq) returned %d (err %v), want the grant's 4", n, err)
	}
}

// drawIncreasingSeqs draws NextSeq twice in each of three transactions,
// failing unless every Seq is above the one before, and returns the last.
func drawIncreasingSeqs(t *testing.T, e *env) uint64 {
	t.Helper()
	ctx := e.Ctx
	var last uint64
	for round := range 3 {
		err := e.Store.Update(ctx, func(tx revoke.Tx) error {
			for range 2 {
				seq, err := tx.NextSeq(ctx)
				if err != nil {
					return err
				}
				if seq <= last {
					return fmt.Errorf("round %d: NextSeq = %d after %d", round, seq, last)
				}
				last = seq
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return last
}

// checkRevocationsInOrder checks that revs, returned by RevokedSince(last),
// come in Seq order and all after last.
func checkRevocationsInOrder(t *testing.T, revs []revoke.Revocation, last uint64) {
	t.Helper()
	for i, rev := range revs {
		if i > 0 && rev.Seq < revs[i-1].Seq {
			t.Errorf("RevokedSince out of order: %d after %d", rev.Seq, revs[i-1].Seq)
		}
		if rev.Seq <= last {
			t.Errorf("RevokedSince(%d) returned Seq %d", last, rev.Seq)
		}
	}
}

// checkRevocationsAreTokens checks that the first revocations of revs are
// those of toks, in the order they were revoked.
func checkRevocationsAreTokens(t *testing.T, revs []revoke.Revocation, toks []string) {
	t.Helper()
	for i, tok := range toks {
		if revs[i].ID != revoke.TokenID(tok) || revs[i].Check != revoke.Checksum(tok) {
			t.Errorf("revocation %d is not token %d's", i, i)
		}
	}
}

func testPurge(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open, revoke.WithPurge(revoke.PurgePolicy{Grace: time.Minute, Batch: revoke.DefaultPurgeBatch}))
	short := e.Issue(revoke.Access, "c1", "", time.Minute)
	shortRevoked := e.Issue(revoke.Access, "c1", "", time.Minute)
	long := e.Issue(revoke.Access, "c1", "", time.Hour)
	longRevoked := e.Issue(revoke.Access, "c1", "", time.Hour)
	e.Revoke(shortRevoked, "c1", 1)
	e.Revoke(longRevoked, "c1", 1)

	e.Clock.Advance(90 * time.Second) // expired, but within the grace
	if n, err := e.R.Purge(e.Ctx); err != nil || n != 0 {
		t.Fatalf("Purge within the grace = (%d, %v), want (0, nil)", n, err)
	}
	e.WantRevoked("expired within the grace", shortRevoked)

	e.Clock.Advance(time.Minute)
	if n, err := e.R.Purge(e.Ctx); err != nil || n != 2 {
		t.Fatalf("Purge = (%d, %v), want (2, nil)", n, err)
	}
	for _, tok := range []string{short, shortRevoked} {
		if _, found := e.Record(tok); found {
			t.Error("an expired record survived Purge")
		}
	}
	e.WantRevoked("unexpired revoked token", longRevoked)
	e.WantLive("unexpired live token", long)
	if _, found := e.Record(long); !found {
		t.Error("Purge deleted an unexpired record")
	}
	if n, err := e.R.Purge(e.Ctx); err != nil || n != 0 {
		t.Errorf("second Purge = (%d, %v), want (0, nil)", n, err)
	}
	// The index drops expired revocations to the hour
	// (revoke.ExpiryResolution): later, both are gone from it.
	e.Clock.Advance(3 * revoke.ExpiryResolution)
	if _, err := e.R.Purge(e.Ctx); err != nil {
		t.Fatal(err)
	}
	e.WantLive("purged revoked token", shortRevoked)
	e.WantLive("purged revoked token", longRevoked)
}

func testPurgeInBatches(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open, revoke.WithPurge(revoke.PurgePolicy{Grace: 0, Batch: 3}))
	var live []string
	for i := range 10 {
		e.Issue(revoke.Access, "c1", "", time.Minute)
		if i%3 == 0 {
			live = append(live, e.Issue(revoke.Access, "c1", "", time.Hour))
		}
	}
	e.Clock.Advance(2 * time.Minute)
	if n, err := e.R.Purge(e.Ctx); err != nil || n != 10 {
		t.Fatalf("Purge in batches of 3 = (%d, %v), want (10, nil)", n, err)
	}
	for _, tok := range live {
		if _, found := e.Record(tok); !found {
			t.Error("Purge deleted an unexpired record")
		}
	}
}

func testCancelledContext(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	at := e.Issue(revoke.Access, "c1", "", time.Hour)
	ctx, cancel := context.WithCancel(e.Ctx)
	cancel()
	v := harness.Token()
	err := e.R.Issue(ctx, revoke.Token{Value: v, Kind: revoke.Access, ClientID: "c1", ExpiresAt: e.Clock.Now().Add(time.Hour)})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Issue with a cancelled context: err = %v, want context.Canceled", err)
	}
	if _, found := e.Record(v); found {
		t.Error("Issue with a cancelled context stored a record")
	}
	if n, err := e.R.Revoke(ctx, at, "c1"); !errors.Is(err, context.Canceled) || n != 0 {
		t.Errorf("Revoke with a cancelled context = (%d, %v), want (0, context.Canceled)", n, err)
	}
	e.WantLive("token revoked with a cancelled context", at)
	if rec, _ := e.Record(at); rec.Revoked() {
		t.Error("Revoke with a cancelled context wrote a revocation")
	}
	if err := e.Store.Update(ctx, func(revoke.Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Store.Update with a cancelled context: err = %v, want context.Canceled", err)
	}
	if err := e.Store.View(ctx, func(revoke.Tx) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Store.View with a cancelled context: err = %v, want context.Canceled", err)
	}
}

// testConcurrentIssueAndRevoke races Issue under a grant against Revoke of
// that grant, many rounds: every token whose Issue succeeded must end up
// revoked, and every failed Issue must have failed with ErrRevoked.
func testConcurrentIssueAndRevoke(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	const rounds = 100
	for round := range rounds {
		g, issued, revoked := raceIssueAndRevoke(t, e, round)
		checkIssueAndRevokeRound(t, e, round, g, issued, revoked)
	}
}

// raceIssueAndRevoke runs one round of testConcurrentIssueAndRevoke: it
// makes a fresh grant, then races issuers minting tokens under it against
// one Revoke of it. It returns the grant, the tokens whose Issue succeeded
// and the count that Revoke returned.
func raceIssueAndRevoke(t *testing.T, e *env, round int) (g grant, issued []string, revoked int) {
	const issuers = 4
	g = e.NewGrant("c1", 2)
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	record := func(tok string) {
		mu.Lock()
		issued = append(issued, tok)
		mu.Unlock()
	}
	for w := range issuers {
		wg.Go(func() {
			<-start
			issueUnderGrant(t, e, round, w, g.R[w%2], record)
		})
	}
	wg.Go(func() {
		<-start
		n, err := e.R.Revoke(e.Ctx, g.R[round%2], "c1")
		if err != nil {
			t.Errorf("round %d: Revoke: %v", round, err)
		}
		revoked = n
	})
	close(start)
	wg.Wait()
	return g, issued, revoked
}

// issueUnderGrant is issuer w of a testConcurrentIssueAndRevoke round: it
// issues up to three tokens under parent, access tokens when w is even and
// refresh tokens, each the parent of the next, when w is odd, and passes
// record every token whose Issue succeeded. It stops at the first failure.
func issueUnderGrant(t *testing.T, e *env, round, w int, parent string, record func(tok string)) {
	const perIssuer = 3
	for range perIssuer {
		v := harness.Token()
		kind := revoke.Access
		if w%2 == 1 {
			kind = revoke.Refresh
		}
		err := e.R.Issue(e.Ctx, revoke.Token{Value: v, Kind: kind, ClientID: "c1", Parent: parent, ExpiresAt: e.Clock.Now().Add(time.Hour)})
		switch {
		case err == nil:
			record(v)
			if kind == revoke.Refresh {
				parent = v // rotate
			}
		case errors.Is(err, revoke.ErrRevoked):
			return
		default:
			t.Errorf("round %d: Issue: %v", round, err)
			return
		}
	}
}

// checkIssueAndRevokeRound checks the outcome of a round: the grant g and
// every token issued during the race are revoked, and Revoke counted no
// more tokens than there were.
func checkIssueAndRevokeRound(t *testing.T, e *env, round int, g grant, issued []string, revoked int) {
	t.Helper()
	e.WantRevoked(fmt.Sprintf("round %d: grant", round), g.All()...)
	e.WantRevoked(fmt.Sprintf("round %d: token issued during the race", round), issued...)
	for _, tok := range issued {
		if rec, found := e.Record(tok); !found || !rec.Revoked() {
			t.Errorf("round %d: an issued token's stored record is not revoked", round)
		}
	}
	if revoked > len(g.All())+len(issued) {
		t.Errorf("round %d: Revoke counted %d, more than the grant's %d tokens", round, revoked, len(g.All())+len(issued))
	}
}

// testConcurrentWriters runs many writers at once (the Revoker commits them
// in shared transactions) and checks each one's outcome.
func testConcurrentWriters(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	const writers = 16
	grants := make([]grant, writers)
	for i := range grants {
		grants[i] = e.NewGrant(fmt.Sprintf("c%d", i%3), 2)
	}
	var wg sync.WaitGroup
	for i, g := range grants {
		wg.Go(func() { writeConcurrently(t, e, i, g) })
	}
	wg.Wait()
	for i, g := range grants {
		checkConcurrentWrite(t, e, i, g)
	}
}

// writeConcurrently is writer i of testConcurrentWriters, and does to g
// what i%4 picks: revoke its refresh token, revoke an access token, try to
// revoke as another client, or try to issue under an unknown parent.
func writeConcurrently(t *testing.T, e *env, i int, g grant) {
	switch i % 4 {
	case 0:
		if n, err := e.R.Revoke(e.Ctx, g.R[1], g.Client); err != nil || n != 4 {
			t.Errorf("writer %d: Revoke = (%d, %v), want (4, nil)", i, n, err)
		}
	case 1:
		if n, err := e.R.Revoke(e.Ctx, g.A[0], g.Client); err != nil || n != 1 {
			t.Errorf("writer %d: Revoke = (%d, %v), want (1, nil)", i, n, err)
		}
	case 2:
		if n, err := e.R.Revoke(e.Ctx, g.A[0], "intruder"); !errors.Is(err, revoke.ErrClientMismatch) || n != 0 {
			t.Errorf("writer %d: foreign Revoke = (%d, %v), want ErrClientMismatch", i, n, err)
		}
	case 3:
		err := e.R.Issue(e.Ctx, revoke.Token{Value: harness.Token(), Kind: revoke.Access, ClientID: g.Client, Parent: "unknown-parent", ExpiresAt: e.Clock.Now().Add(time.Hour)})
		if !errors.Is(err, revoke.ErrUnknownParent) {
			t.Errorf("writer %d: Issue under unknown parent: %v", i, err)
		}
	}
}

// checkConcurrentWrite checks that writer i of testConcurrentWriters left
// g as it should: all revoked, only the access token revoked, or all live.
func checkConcurrentWrite(t *testing.T, e *env, i int, g grant) {
	t.Helper()
	switch i % 4 {
	case 0:
		e.WantRevoked(fmt.Sprintf("writer %d grant", i), g.All()...)
	case 1:
		e.WantRevoked(fmt.Sprintf("writer %d access", i), g.A[0])
		e.WantLive(fmt.Sprintf("writer %d rest", i), g.R[0], g.R[1], g.A[1])
	default:
		e.WantLive(fmt.Sprintf("writer %d grant", i), g.All()...)
	}
}

func testClosed(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	g := e.NewGrant("c1", 1)
	e.Revoke(g.A[0], "c1", 1)
	if err := e.R.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := e.Ctx
	v := harness.Token()
	checks := map[string]error{
		"Issue": e.R.Issue(ctx, revoke.Token{Value: v, Kind: revoke.Access, ClientID: "c1", ExpiresAt: e.Clock.Now().Add(time.Hour)}),
		"Close": e.R.Close(),
		"Store.View": e.Store.View(ctx, func(revoke.Tx) error {
			return errors.New("view ran fn after Close")
		}),
		"Store.Update": e.Store.Update(ctx, func(revoke.Tx) error {
			return errors.New("update ran fn after Close")
		}),
		"Store.Close": e.Store.Close(),
	}
	_, checks["Revoke"] = e.R.Revoke(ctx, g.R[0], "c1")
	_, checks["IsRevoked"] = e.R.IsRevoked(ctx, g.A[0])
	_, checks["Purge"] = e.R.Purge(ctx)
	for name, err := range checks {
		if !errors.Is(err, revoke.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", name, err)
		}
	}
}
