package revoke_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// changesAfter returns the IDs the change log holds after pos, and the new
// head.
func changesAfter(t *testing.T, r *revoke.Revoker, pos uint64) (map[revoke.ID]revoke.Revocation, uint64) {
	t.Helper()
	got := map[revoke.ID]revoke.Revocation{}
	buf := make([]revoke.Revocation, 3) // small, to page through
	for {
		revs, err := r.ChangesSince(pos, buf)
		if err != nil {
			t.Fatalf("ChangesSince(%d): %v", pos, err)
		}
		if len(revs) == 0 {
			return got, pos
		}
		for _, rev := range revs {
			if _, dup := got[rev.ID]; dup {
				t.Errorf("ChangesSince: %s logged twice", rev.ID)
			}
			got[rev.ID] = rev
		}
		pos += uint64(len(revs))
	}
}

// wantLogged checks that exactly the tokens toks entered the change log
// after pos, and returns the new head.
func wantLogged(t *testing.T, r *revoke.Revoker, pos uint64, what string, toks ...string) uint64 {
	t.Helper()
	got, head := changesAfter(t, r, pos)
	if len(got) != len(toks) {
		t.Errorf("%s: %d changes logged, want %d", what, len(got), len(toks))
	}
	for _, tok := range toks {
		rev, ok := got[revoke.TokenID(tok)]
		switch {
		case !ok:
			t.Errorf("%s: %q not in the change log", what, tok)
		case rev.Check != revoke.Checksum(tok):
			t.Errorf("%s: %q logged with check %08x, want %08x", what, tok, rev.Check, revoke.Checksum(tok))
		}
	}
	return head
}

func issue(t *testing.T, r *revoke.Revoker, tok revoke.Token) {
	t.Helper()
	if tok.ExpiresAt.IsZero() {
		tok.ExpiresAt = time.Now().Add(time.Hour)
	}
	if tok.ClientID == "" {
		tok.ClientID = "c"
	}
	if err := r.Issue(context.Background(), tok); err != nil {
		t.Fatalf("Issue(%s): %v", tok.Value, err)
	}
}

// TestChangeLogGetsEveryRevocation checks that every path that adds to the
// index adds to the change log: Revoke of an access token and of a grant,
// RevokeSubject, RevokeClient, reuse through Rotate and through Issue,
// RevokeUntracked, and the sync of revocations another Revoker committed to
// a shared store.
func TestChangeLogGetsEveryRevocation(t *testing.T) {
	ctx := context.Background()
	m := memory.New()
	r, err := revoke.New(&sharedStore{Store: m}, revoke.WithFollow(revoke.FollowPolicy{Interval: 5 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, pos := changesAfter(t, r, 0)

	issue(t, r, revoke.Token{Value: "a1", Kind: revoke.Access})
	if _, err := r.Revoke(ctx, "a1", "c"); err != nil {
		t.Fatal(err)
	}
	pos = wantLogged(t, r, pos, "Revoke(access)", "a1")

	issue(t, r, revoke.Token{Value: "r1", Kind: revoke.Refresh})
	issue(t, r, revoke.Token{Value: "a2", Kind: revoke.Access, Parent: "r1"})
	if _, err := r.Revoke(ctx, "r1", "c"); err != nil {
		t.Fatal(err)
	}
	pos = wantLogged(t, r, pos, "Revoke(refresh)", "r1", "a2")

	issue(t, r, revoke.Token{Value: "s1", Kind: revoke.Refresh, Subject: "alice"})
	if _, err := r.RevokeSubject(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	pos = wantLogged(t, r, pos, "RevokeSubject", "s1")

	issue(t, r, revoke.Token{Value: "k1", Kind: revoke.Access, ClientID: "k"})
	if _, err := r.RevokeClient(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	pos = wantLogged(t, r, pos, "RevokeClient", "k1")

	issue(t, r, revoke.Token{Value: "g1", Kind: revoke.Refresh})
	if err := r.Rotate(ctx, "g1", revoke.Token{Value: "g2", Kind: revoke.Refresh, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	err = r.Rotate(ctx, "g1", revoke.Token{Value: "g3", Kind: revoke.Refresh, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)})
	if !errors.Is(err, revoke.ErrReused) {
		t.Fatalf("Rotate of a spent token = %v, want ErrReused", err)
	}
	pos = wantLogged(t, r, pos, "reuse through Rotate", "g1", "g2")

	issue(t, r, revoke.Token{Value: "h1", Kind: revoke.Refresh})
	if err := r.Rotate(ctx, "h1", revoke.Token{Value: "h2", Kind: revoke.Refresh, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	err = r.Issue(ctx, revoke.Token{Value: "h3", Kind: revoke.Access, ClientID: "c", Parent: "h1", ExpiresAt: time.Now().Add(time.Hour)})
	if !errors.Is(err, revoke.ErrReused) {
		t.Fatalf("Issue under a spent token = %v, want ErrReused", err)
	}
	pos = wantLogged(t, r, pos, "reuse through Issue", "h1", "h2")

	if _, err := r.RevokeUntracked(ctx, "jwt-key", "c", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	pos = wantLogged(t, r, pos, "RevokeUntracked", "jwt-key")

	// Another Revoker over the same store: this one learns of its
	// revocation by sync, and logs it.
	other, err := revoke.New(&sharedStore{Store: m}, revoke.WithFollow(revoke.FollowPolicy{Interval: 0}))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	issueAndRevoke(t, other, "elsewhere")
	eventually(t, "the sync bringing the other Revoker's revocation", func() bool {
		ok, _ := r.IsRevoked(ctx, "elsewhere")
		return ok
	})
	pos = wantLogged(t, r, pos, "sync", "elsewhere")
	_ = pos
}

// TestChangeLogSyncDoesNotRepeatLocalRevocations checks that the sync, which
// reads back this Revoker's own revocations from a shared store, does not
// log them a second time.
func TestChangeLogSyncDoesNotRepeatLocalRevocations(t *testing.T) {
	ns := &notifyingStore{sharedStore: sharedStore{Store: memory.New()}, sig: make(chan struct{})}
	r, err := revoke.New(ns, revoke.WithFollow(revoke.FollowPolicy{Interval: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	issueAndRevoke(t, r, "mine")
	// The signal makes the follower read the store, which holds "mine".
	ns.sig <- struct{}{}
	eventually(t, "a sync after the revocation", func() bool { return r.Stats().SyncedSeq > 0 })
	if oldest, head := r.ChangeRange(); oldest != 0 || head != 1 {
		t.Errorf("ChangeRange = (%d, %d), want (0, 1): one revocation, logged once", oldest, head)
	}
}

// TestChangeLogIsBounded checks that the log keeps the latest WithChangeLog
// entries, and that a position it no longer (or never) held is
// ErrChangesGone.
func TestChangeLogIsBounded(t *testing.T) {
	r, err := revoke.New(memory.New(), revoke.WithChangeLog(8))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range 20 {
		issueAndRevoke(t, r, fmt.Sprint("tok-", i))
	}
	if oldest, head := r.ChangeRange(); oldest != 12 || head != 20 {
		t.Fatalf("ChangeRange = (%d, %d), want (12, 20)", oldest, head)
	}
	buf := make([]revoke.Revocation, 100)
	for _, pos := range []uint64{0, 11, 21} {
		if _, err := r.ChangesSince(pos, buf); !errors.Is(err, revoke.ErrChangesGone) {
			t.Errorf("ChangesSince(%d) = %v, want ErrChangesGone", pos, err)
		}
	}
	revs, err := r.ChangesSince(12, buf)
	if err != nil || len(revs) != 8 {
		t.Fatalf("ChangesSince(12) = %d entries, %v; want 8", len(revs), err)
	}
	for i, rev := range revs {
		if want := revoke.TokenID(fmt.Sprint("tok-", 12+i)); rev.ID != want {
			t.Errorf("entry %d is not tok-%d", i, 12+i)
		}
	}
	if revs, err := r.ChangesSince(20, buf); err != nil || len(revs) != 0 {
		t.Errorf("ChangesSince(head) = %d entries, %v; want none", len(revs), err)
	}
}

func TestWithChangeLogValidated(t *testing.T) {
	for _, n := range []int{0, -1, revoke.MaxChangeLog + 1} {
		r, err := revoke.New(memory.New(), revoke.WithChangeLog(n))
		if !errors.Is(err, revoke.ErrInvalidOption) {
			t.Errorf("WithChangeLog(%d): New = %v, want ErrInvalidOption", n, err)
		}
		if r != nil {
			r.Close()
		}
	}
}

// TestChangeNotify checks that the channel is closed by the next
// revocation, and by Close.
func TestChangeNotify(t *testing.T) {
	r, err := revoke.New(memory.New())
	if err != nil {
		t.Fatal(err)
	}
	ch := r.ChangeNotify(0)
	select {
	case <-ch:
		t.Fatal("ChangeNotify(head) closed before any revocation")
	default:
	}
	issueAndRevoke(t, r, "t1")
	<-ch // closed by the revocation, or the test times out
	select {
	case <-r.ChangeNotify(0):
	default:
		t.Fatal("ChangeNotify(0) open though position 1 exists")
	}
	ch = r.ChangeNotify(1)
	r.Close()
	<-ch
	if _, err := r.ChangesSince(1, make([]revoke.Revocation, 1)); !errors.Is(err, revoke.ErrClosed) {
		t.Errorf("ChangesSince after Close = %v, want ErrClosed", err)
	}
}

// TestSnapshotAndChangesMissNothing revokes from several goroutines while
// snapshots are taken, and checks that each snapshot, followed by the
// changes after its position, holds every revocation.
func TestSnapshotAndChangesMissNothing(t *testing.T) {
	r, err := revoke.New(memory.New())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	const writers, each = 4, 150
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				tok := fmt.Sprintf("w%d-%d", w, i)
				if _, err := r.RevokeUntracked(ctx, tok, "c", time.Now().Add(time.Hour)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	snapshots := 0
	for running := true; running; snapshots++ {
		select {
		case <-done:
			running = false
		default:
		}
		snapshotMissesNothing(t, r)
	}
	if n := r.Stats().IndexEntries; n != writers*each {
		t.Fatalf("IndexEntries = %d, want %d", n, writers*each)
	}
	t.Logf("%d snapshots", snapshots)
}

// snapshotMissesNothing takes a snapshot, applies the changes after its
// position up to the head as it stands then, and checks that every
// position up to that head is in the result.
func snapshotMissesNothing(t *testing.T, r *revoke.Revoker) {
	t.Helper()
	buf := make([]revoke.Revocation, 7)
	// A snapshot carries the fingerprints the index keeps.
	have := map[[revoke.FingerprintSize]byte]bool{}
	note := func(revs []revoke.Revocation) error {
		for _, rev := range revs {
			have[fingerprint(rev.ID)] = true
		}
		return nil
	}
	pos, err := r.Snapshot(context.Background(), buf, note)
	if err != nil {
		t.Fatal(err)
	}
	_, head := r.ChangeRange()
	for pos < head {
		revs, err := r.ChangesSince(pos, buf)
		if err != nil {
			t.Fatal(err)
		}
		_ = note(revs)
		pos += uint64(len(revs))
	}
	for p := uint64(1); p <= head; p++ {
		revs, err := r.ChangesSince(p-1, buf[:1])
		if err != nil {
			t.Fatal(err)
		}
		if !have[fingerprint(revs[0].ID)] {
			t.Fatalf("position %d is in neither the snapshot nor the changes after it", p)
		}
	}
}

// fingerprint is what the index keeps of id: its first FingerprintSize
// bytes but the last two bits.
func fingerprint(id revoke.ID) [revoke.FingerprintSize]byte {
	f := [revoke.FingerprintSize]byte(id[:])
	f[revoke.FingerprintSize-1] &^= 3
	return f
}

// TestSnapshotCarriesFingerprints checks that a snapshot carries the
// fingerprint of each ID (its first FingerprintSize bytes, the rest zero,
// no checksum), and that an Index given it finds every token, among them an
// imported one stored with a wrong checksum.
func TestSnapshotCarriesFingerprints(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	id := revoke.TokenID("imported")
	rec := revoke.Record{ID: id, Check: revoke.Checksum("imported") ^ 1, Kind: revoke.Access, ClientID: "c", Grant: id, ExpiresAt: time.Now().Add(time.Hour).UTC(), Seq: 3}
	if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) }); err != nil {
		t.Fatal(err)
	}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	issueAndRevoke(t, r, "checked")
	x := revoke.NewIndex()
	var got []revoke.Revocation
	if _, err := r.Snapshot(ctx, make([]revoke.Revocation, 4), func(b []revoke.Revocation) error {
		got = append(got, b...)
		for _, rev := range b {
			x.Add(rev)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("snapshot of %d entries, want 2", len(got))
	}
	var want revoke.ID
	f := fingerprint(id)
	copy(want[:], f[:])
	found := false
	for _, rev := range got {
		found = found || rev.ID == want
		if rev.Check != 0 || rev.Seq != 0 {
			t.Errorf("snapshot entry %v carries check %08x and seq %d, want neither", rev.ID, rev.Check, rev.Seq)
		}
	}
	if !found {
		t.Errorf("snapshot %v lacks the fingerprint %v", got, want)
	}
	for _, tok := range []string{"imported", "checked"} {
		if !x.Contains(tok) {
			t.Errorf("Index.Contains(%q) = false after the snapshot", tok)
		}
		if ok, err := r.IsRevoked(ctx, tok); !ok || err != nil {
			t.Errorf("IsRevoked(%q) = %v, %v; want true", tok, ok, err)
		}
	}
}

func TestSnapshotStopsOnError(t *testing.T) {
	r, err := revoke.New(memory.New())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range 10 {
		issueAndRevoke(t, r, fmt.Sprint("t", i))
	}
	boom := errors.New("boom")
	calls := 0
	_, err = r.Snapshot(context.Background(), make([]revoke.Revocation, 1), func([]revoke.Revocation) error {
		calls++
		return boom
	})
	if !errors.Is(err, boom) || calls != 1 {
		t.Errorf("Snapshot = %v after %d calls; want boom after 1", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Snapshot(ctx, make([]revoke.Revocation, 1), func([]revoke.Revocation) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Snapshot with a cancelled context = %v", err)
	}
	if _, err := r.Snapshot(context.Background(), nil, nil); !errors.Is(err, revoke.ErrInvalidOption) {
		t.Errorf("Snapshot with no buffer = %v", err)
	}
}
