package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/internal/harness"
	"github.com/sdkauth/revocation/revoke"
)

// The races between two Stores over the same data stand for two processes
// (replicas) of one deployment. A backend passes them only if its write
// transactions are serializable across processes, not only within one.
const (
	// crossRounds is how many rounds each race runs.
	crossRounds = 20
	// crossRetries bounds the retries of an operation that failed with
	// revoke.ErrUnavailable (a serialization failure, a lock timeout):
	// nothing was written, and the caller may retry.
	crossRetries = 5
)

// openPair returns an env over a fresh Store and one over a second Store of
// the same data, each with its own Revoker. It skips the test when the
// backend refuses the second Store, and fails it when the second Store is
// not Shared.
func openPair(t *testing.T, open func(*testing.T) revoke.Store, reopen func(*testing.T, revoke.Store) (revoke.Store, error)) (*env, *env) {
	t.Helper()
	const interval = 10 * time.Millisecond
	e := setup(t, open, revoke.WithFollow(revoke.FollowPolicy{Interval: interval}))
	s2, err := reopen(t, e.Store)
	if err != nil {
		t.Skipf("the backend refuses a second Store over the same data (%v): there are no two Stores to race", err)
	}
	requireShared(t, e, s2)
	r2, err := revoke.New(s2, revoke.WithClock(e.Clock.Now), revoke.WithFollow(revoke.FollowPolicy{Interval: interval}))
	if err != nil {
		_ = s2.Close()
		t.Fatalf("revoke.New over the second Store: %v", err)
	}
	t.Cleanup(func() { _ = r2.Close() })
	inner := *e.Env // the same test and clock, the second Store and Revoker
	inner.Store, inner.R = s2, r2
	e2 := env{&inner}
	return e, &e2
}

// transient reports whether err says the store could not serve the
// operation now (nothing was written; a retry may succeed).
func transient(err error) bool { return errors.Is(err, revoke.ErrUnavailable) }

// serializableHint ends the failure messages of the races.
const serializableHint = "Update transactions must be serializable across processes, not only within one: " +
	"every write transaction of every process must take one lock first (SELECT ... FOR UPDATE of one row, " +
	"an advisory lock, BEGIN IMMEDIATE) or run at SERIALIZABLE isolation, its conflicts failing with an error " +
	"that wraps revoke.ErrUnavailable"

// testRotateAcrossStores: of concurrent Rotates of one refresh token through
// two Stores over the same data, exactly one succeeds.
func testRotateAcrossStores(t *testing.T, open func(*testing.T) revoke.Store, reopen func(*testing.T, revoke.Store) (revoke.Store, error)) {
	e1, e2 := openPair(t, open, reopen)
	const racers = 8
	for round := range crossRounds {
		r0 := e1.Issue(revoke.Refresh, "c1", "", 24*time.Hour)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			winners int
			start   = make(chan struct{})
		)
		for i := range racers {
			e := []*env{e1, e2}[i%2]
			wg.Go(func() {
				<-start
				err := rotateRetrying(e, r0)
				switch {
				case err == nil:
					mu.Lock()
					winners++
					mu.Unlock()
				case errors.Is(err, revoke.ErrReused), errors.Is(err, revoke.ErrRevoked), transient(err):
				default:
					t.Errorf("round %d: Rotate: %v", round, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if winners != 1 {
			t.Fatalf("Store.Update: round %d: %d of %d concurrent Rotates of one token through two Stores over the same data "+
				"succeeded, want exactly 1 (a spent refresh token was rotated again by another process): %s",
				round, winners, racers, serializableHint)
		}
	}
}

// rotateRetrying rotates old through e, retrying while the store reports
// itself unavailable.
func rotateRetrying(e *env, old string) error {
	var err error
	for range crossRetries {
		if _, err = e.TryRotate(old, "c1"); !transient(err) {
			return err
		}
	}
	return err
}

// testIssueRevokeAcrossStores races Issues under a grant through one Store
// against a Revoke of the grant through the other: afterwards no token of
// the grant is live in the store, read through either Store.
func testIssueRevokeAcrossStores(t *testing.T, open func(*testing.T) revoke.Store, reopen func(*testing.T, revoke.Store) (revoke.Store, error)) {
	e1, e2 := openPair(t, open, reopen)
	envs := []*env{e1, e2}
	const issuers = 4
	for round := range crossRounds {
		g := e1.NewGrant("c1", 2)
		var (
			mu     sync.Mutex
			issued []string
			wg     sync.WaitGroup
			start  = make(chan struct{})
		)
		for w := range issuers {
			wg.Go(func() {
				<-start
				toks := issueUntilRevoked(t, envs[w%2], g.R[w/2%2], round)
				mu.Lock()
				issued = append(issued, toks...)
				mu.Unlock()
			})
		}
		wg.Go(func() {
			<-start
			if err := revokeRetrying(envs[(round+1)%2], g.R[round%2]); err != nil {
				t.Errorf("round %d: Revoke: %v", round, err)
			}
		})
		close(start)
		wg.Wait()
		for si, e := range envs {
			for _, tok := range append(g.All(), issued...) {
				if rec, found := e.Record(tok); !found || !rec.Revoked() {
					t.Fatalf("Store.Update: round %d: a token of a grant revoked through one Store, issued through the "+
						"other while the Revoke ran, is live when read through Store %d (found %v, revoked %v): "+
						"the Revoke did not see the Issue's record, nor the Issue the Revoke's: %s",
						round, si+1, found, rec.Revoked(), serializableHint)
				}
			}
		}
	}
}

// issueUntilRevoked issues up to three access tokens under parent through
// e, until Issue reports the grant revoked, and returns those it issued.
func issueUntilRevoked(t *testing.T, e *env, parent string, round int) []string {
	var issued []string
	for range 3 {
		v, err := issueRetrying(e, parent)
		switch {
		case err == nil:
			issued = append(issued, v)
		case errors.Is(err, revoke.ErrRevoked):
			return issued
		default:
			t.Errorf("round %d: Issue: %v", round, err)
			return issued
		}
	}
	return issued
}

// revokeRetrying revokes tok of client c1 through e, retrying while the
// store reports itself unavailable.
func revokeRetrying(e *env, tok string) error {
	var err error
	for range crossRetries {
		if _, err = e.R.Revoke(e.Ctx, tok, "c1"); !transient(err) {
			return err
		}
	}
	return err
}

// issueRetrying issues an access token under parent through e, retrying
// while the store reports itself unavailable.
func issueRetrying(e *env, parent string) (string, error) {
	var err error
	for range crossRetries {
		v := harness.Token()
		err = e.R.Issue(e.Ctx, revoke.Token{Value: v, Kind: revoke.Access, ClientID: "c1", Parent: parent, ExpiresAt: e.Clock.Now().Add(time.Hour)})
		if !transient(err) {
			return v, err
		}
	}
	return "", err
}

// testSeqOrderAcrossStores: while both Stores commit revocations, a follower
// reads RevokedSince from the highest Seq it has seen, as a Revoker does.
// Every revocation must reach it: one whose Seq is at or below what the
// follower had already passed when it became visible is lost to every
// follower.
func testSeqOrderAcrossStores(t *testing.T, open func(*testing.T) revoke.Store, reopen func(*testing.T, revoke.Store) (revoke.Store, error)) {
	e1, e2 := openPair(t, open, reopen)
	envs := []*env{e1, e2}
	const tokens, writers = 80, 4
	toks := make([]string, tokens)
	for i := range toks {
		toks[i] = envs[i%2].Issue(revoke.Access, "c1", "", time.Hour)
	}
	f := follower{seen: make(map[uint64]bool)}
	done := make(chan struct{})
	followed := make(chan error, 1)
	go func() { followed <- f.follow(envs, done) }()
	next := make(chan string)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for tok := range next {
				if err := revokeRetrying(envs[w%2], tok); err != nil {
					t.Errorf("Revoke: %v", err)
				}
			}
		})
	}
	for _, tok := range toks {
		next <- tok
	}
	close(next)
	wg.Wait()
	close(done)
	if err := <-followed; err != nil {
		t.Fatalf("follower: %v", err)
	}
	for si, e := range envs {
		all, err := revokedSince(e, 0)
		if err != nil {
			t.Fatalf("RevokedSince(0) through Store %d: %v", si+1, err)
		}
		if len(all) < tokens {
			t.Fatalf("RevokedSince(0) through Store %d reported %d revocations, want at least %d", si+1, len(all), tokens)
		}
		if seq, ok := f.skipped(all); ok {
			t.Fatalf("Tx.RevokedSince: Seq %d became visible after the follower had read past it (up to %d), so a "+
				"Revoker following the store never loads it: a Shared store must make commits visible in sequence "+
				"order (no reader may see Seq n+1 while n is still to come), e.g. by handing out NextSeq under the "+
				"lock that serializes writes across processes, held until the commit",
				seq, f.passedAt(seq))
		}
	}
}

// follower reads revocations as a Revoker's follower does: from the
// highest Seq it has seen, through either Store in turn.
type follower struct {
	seen   map[uint64]bool
	last   uint64
	passes []uint64 // the high-water mark after each read
}

// follow reads until done is closed, then once more.
func (f *follower) follow(envs []*env, done <-chan struct{}) error {
	for i := 0; ; i++ {
		stop := false
		select {
		case <-done:
			stop = true
		default:
		}
		seqs, err := revokedSince(envs[i%2], f.last)
		if err != nil {
			return err
		}
		for _, seq := range seqs {
			f.seen[seq] = true
			f.last = max(f.last, seq)
		}
		f.passes = append(f.passes, f.last)
		if stop {
			return nil
		}
	}
}

// skipped returns a Seq of all at or below the follower's high-water mark
// that it never saw.
func (f *follower) skipped(all []uint64) (uint64, bool) {
	for _, seq := range all {
		if seq <= f.last && !f.seen[seq] {
			return seq, true
		}
	}
	return 0, false
}

// passedAt returns the first high-water mark the follower reached at or
// above seq.
func (f *follower) passedAt(seq uint64) uint64 {
	i, _ := slices.BinarySearch(f.passes, seq)
	if i < len(f.passes) {
		return f.passes[i]
	}
	return f.last
}

// revokedSince returns the Seqs RevokedSince(seq) reports through e's
// Store, checking their order.
func revokedSince(e *env, seq uint64) ([]uint64, error) {
	var seqs []uint64
	err := e.Store.View(e.Ctx, func(tx revoke.Tx) error {
		seqs = seqs[:0]
		return tx.RevokedSince(e.Ctx, seq, func(rev revoke.Revocation) error {
			if rev.Seq <= seq || (len(seqs) > 0 && rev.Seq < seqs[len(seqs)-1]) {
				return fmt.Errorf("Tx.RevokedSince(%d) reported Seq %d out of order", seq, rev.Seq)
			}
			seqs = append(seqs, rev.Seq)
			return nil
		})
	})
	return seqs, err
}
