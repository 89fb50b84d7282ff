package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// snapshotWait bounds how long a View of testViewSnapshot waits, between its
// two reads, for an Update started meanwhile to commit. A store may hold
// that Update back until the View ends (a lock the View holds): then there
// is no commit for the View to see, and the wait ends at the bound. It is
// not an assertion: a slow commit makes the check weaker, never wrong.
const snapshotWait = time.Second

// snapshotRead is what a View of testViewSnapshot reads, twice.
type snapshotRead struct {
	x      revoke.Record
	yFound bool
	seqs   []uint64
	grants []revoke.ID
}

// testViewSnapshot: a View is one snapshot. Between two reads of one View,
// an Update from another goroutine revokes a record and adds another; the
// second read must see what the first one saw.
func testViewSnapshot(t *testing.T, open func(*testing.T) revoke.Store) {
	s := open(t)
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).UTC()
	x := revoke.Record{ID: revoke.TokenID("x"), Kind: revoke.Refresh, ClientID: "c1", Subject: "alice", ExpiresAt: exp}
	x.Grant = x.ID
	y := revoke.Record{ID: revoke.TokenID("y"), Kind: revoke.Refresh, ClientID: "c1", Subject: "alice", ExpiresAt: exp}
	y.Grant = y.ID
	if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{x}) }); err != nil {
		t.Fatalf("Update: %v", err)
	}
	done := make(chan error, 1)
	var committed bool
	err := s.View(ctx, func(tx revoke.Tx) error {
		var err error
		committed, err = readAroundUpdate(t, tx, s, x, y, done)
		return err
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	if !committed {
		if err := <-done; err != nil {
			t.Fatalf("the Update started during the View: %v", err)
		}
	}
	// The Update did commit: a View started now sees it.
	var after snapshotRead
	if err := s.View(ctx, func(tx revoke.Tx) error {
		var err error
		after, err = readSnapshot(ctx, tx, x.ID, y.ID)
		return err
	}); err != nil {
		t.Fatalf("View: %v", err)
	}
	if !after.x.Revoked() || !after.yFound || len(after.seqs) != 1 || len(after.grants) != 2 {
		t.Fatalf("a View after the Update committed does not see it: x revoked %v, y found %v, %d revocations, %d grants",
			after.x.Revoked(), after.yFound, len(after.seqs), len(after.grants))
	}
}

// readAroundUpdate reads through tx, starts an Update that revokes x and
// puts y, waits up to snapshotWait for it to commit (its result is sent on
// done), and reads again: both reads must agree. It reports whether the
// Update's result was received.
func readAroundUpdate(t *testing.T, tx revoke.Tx, s revoke.Store, x, y revoke.Record, done chan error) (bool, error) {
	ctx := context.Background()
	first, err := readSnapshot(ctx, tx, x.ID, y.ID)
	if err != nil {
		return false, err
	}
	go func() {
		done <- s.Update(ctx, func(tx revoke.Tx) error {
			seq, err := tx.NextSeq(ctx)
			if err != nil {
				return err
			}
			revoked := x
			revoked.Seq = seq
			if err := tx.Put(ctx, []revoke.Record{revoked}); err != nil {
				return err
			}
			return tx.Put(ctx, []revoke.Record{y})
		})
	}()
	committed := false
	select {
	case err := <-done:
		if err != nil {
			return true, fmt.Errorf("the Update between the View's reads: %w", err)
		}
		committed = true
	case <-time.After(snapshotWait):
		// Held back by the View: the second read has nothing to miss.
	}
	second, err := readSnapshot(ctx, tx, x.ID, y.ID)
	if err != nil {
		return committed, err
	}
	if diff := first.diff(second); diff != "" {
		t.Errorf("Store.View: the second read of one View saw a commit made after its first read (%s); the contract "+
			"says a View is one consistent snapshot: run it at REPEATABLE READ or SERIALIZABLE isolation (a snapshot "+
			"at its first read), not READ COMMITTED", diff)
	}
	return committed, nil
}

// readSnapshot reads x, y, the revocations and alice's grants through tx.
func readSnapshot(ctx context.Context, tx revoke.Tx, x, y revoke.ID) (snapshotRead, error) {
	var r snapshotRead
	var err error
	if r.x, _, err = getOne(ctx, tx, x); err != nil {
		return r, err
	}
	if _, r.yFound, err = getOne(ctx, tx, y); err != nil {
		return r, err
	}
	if err = tx.RevokedSince(ctx, 0, func(rev revoke.Revocation) error {
		r.seqs = append(r.seqs, rev.Seq)
		return nil
	}); err != nil {
		return r, err
	}
	r.grants, err = tx.GrantsOf(ctx, revoke.BySubject, "alice", revoke.ID{}, 10)
	return r, err
}

// diff names what differs between two reads, or returns "".
func (r snapshotRead) diff(o snapshotRead) string {
	switch {
	case !sameRecord(r.x, o.x):
		return fmt.Sprintf("Tx.Get of one record: Seq %d, then %d", r.x.Seq, o.x.Seq)
	case r.yFound != o.yFound:
		return fmt.Sprintf("Tx.Get of one ID: found %v, then %v", r.yFound, o.yFound)
	case !slices.Equal(r.seqs, o.seqs):
		return fmt.Sprintf("Tx.RevokedSince: %d revocations, then %d", len(r.seqs), len(o.seqs))
	case !slices.Equal(r.grants, o.grants):
		return fmt.Sprintf("Tx.GrantsOf: %d grants, then %d", len(r.grants), len(o.grants))
	}
	return ""
}
