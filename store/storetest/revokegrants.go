package storetest

import (
	"errors"
	"fmt"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// testRevokeGrantsOnlyLive: RevokeGrants sets its Seq on the records of
// the grant whose Seq is 0, expired ones included, returns their entries
// and leaves a record already revoked at its Seq, and other grants as they
// are.
func testRevokeGrantsOnlyLive(f *fixture) {
	root := f.rec("root", revoke.ID{})
	old, expired, live := f.rec("old", root.ID), f.rec("expired", root.ID), f.rec("live", root.ID)
	expired.ExpiresAt = f.now.Add(-time.Hour)
	live.Status = revoke.StatusRef{List: 7, Index: 8}
	other := f.rec("other", revoke.ID{})
	var oldSeq uint64
	f.update(func(tx revoke.Tx) error {
		var err error
		if oldSeq, err = tx.NextSeq(f.ctx); err != nil {
			return err
		}
		old.Seq = oldSeq
		return tx.Put(f.ctx, []revoke.Record{root, old, expired, live, other})
	})
	var seq uint64
	f.inAndAfter(func(tx revoke.Tx) error {
		var revs []revoke.Revocation
		var err error
		if seq, revs, err = revokeGrants(f.ctx, tx, root.ID); err != nil {
			return err
		}
		return wantRevocations("RevokeGrants of a grant with a revoked record", revs, seq, root, expired, live)
	}, func(tx revoke.Tx, when string) error {
		want := []revoke.Record{root, expired, live}
		for i := range want {
			want[i].Seq = seq
		}
		want = append(want, old, other)
		got, err := tx.Get(f.ctx, ids(want))
		if err != nil {
			return err
		}
		revs, err := revokedSinceAll(f.ctx, tx, oldSeq)
		if err != nil {
			return err
		}
		return errors.Join(wantRecords("Get after RevokeGrants, "+when, got, want),
			wantRevocations("RevokedSince the older Seq, after RevokeGrants, "+when, revs, seq, root, expired, live))
	})
}

// testRevokeGrantsOwnWrites: RevokeGrants works on the records as the
// transaction left them: a record Put in it is revoked, one Deleted in it
// is not written back, a grant whose first record it Put is found.
func testRevokeGrantsOwnWrites(f *fixture) {
	root := f.rec("root", revoke.ID{})
	gone, added := f.rec("gone", root.ID), f.rec("added", root.ID)
	lone := f.rec("lone", revoke.ID{})
	newMember := f.rec("new-member", cid("new-root")) // of a grant the store does not hold
	f.put(root, gone)
	f.update(func(tx revoke.Tx) error {
		if _, err := tx.Get(f.ctx, []revoke.ID{root.ID, gone.ID}); err != nil {
			return err
		}
		if err := tx.Put(f.ctx, []revoke.Record{added, lone, newMember}); err != nil {
			return err
		}
		if err := tx.Delete(f.ctx, []revoke.ID{gone.ID}); err != nil {
			return err
		}
		seq, revs, err := revokeGrants(f.ctx, tx, root.ID, lone.ID, newMember.Grant)
		if err != nil {
			return err
		}
		return wantRevocations("RevokeGrants after Puts and a Delete in its transaction", revs, seq, root, added, lone, newMember)
	})
	f.view(func(tx revoke.Tx) error {
		got, err := tx.Get(f.ctx, []revoke.ID{gone.ID})
		if err != nil {
			return err
		}
		return wantRecords("Get of a record deleted before RevokeGrants of its grant", got, nil)
	})
}

// testRevokeGrantsDuplicates: grants may name a grant twice and IDs of no
// grant: each record is revoked and returned once. No grants revoke none.
func testRevokeGrantsDuplicates(f *fixture) {
	g1, g2 := f.rec("g1", revoke.ID{}), f.rec("g2", revoke.ID{})
	a1, a2 := f.rec("a1", g1.ID), f.rec("a2", g2.ID)
	f.put(g1, g2, a1, a2)
	f.update(func(tx revoke.Tx) error {
		seq, revs, err := revokeGrants(f.ctx, tx, g1.ID, a1.ID, cid("absent"), g1.ID, g2.ID, g1.ID)
		if err != nil {
			return err
		}
		if err := wantRevocations("RevokeGrants of a batch with duplicates, a member's ID and an absent ID", revs, seq, g1, g2, a1, a2); err != nil {
			return err
		}
		for _, grants := range [][]revoke.ID{nil, {}, {cid("absent")}} {
			revs, err := tx.RevokeGrants(f.ctx, seq, grants)
			if err != nil {
				return fmt.Errorf("RevokeGrants of %d IDs of no grant: %w", len(grants), err)
			}
			if len(revs) != 0 {
				return fmt.Errorf("RevokeGrants of %d IDs of no grant returned %d entries, want none", len(grants), len(revs))
			}
		}
		return nil
	})
}

// testRevokeGrantsReadsFollow: the records RevokeGrants revoked read back
// revoked in its transaction (Get, Scan, RevokedSince), and a Put after it
// in that transaction wins.
func testRevokeGrantsReadsFollow(f *fixture) {
	root := f.rec("root", revoke.ID{})
	a1 := f.rec("a1", root.ID)
	f.put(root, a1)
	f.update(func(tx revoke.Tx) error {
		seq, _, err := revokeGrants(f.ctx, tx, root.ID)
		if err != nil {
			return err
		}
		want := []revoke.Record{root, a1}
		for i := range want {
			want[i].Seq = seq
		}
		ix, err := readIndexes(f, tx, ids(want))
		if err != nil {
			return err
		}
		if err := errors.Join(wantRecords("Get after RevokeGrants in its transaction", ix.got, want),
			wantRecords("Scan after RevokeGrants in its transaction", ix.scanned, want),
			wantRevocations("RevokedSince after RevokeGrants in its transaction", ix.revs, seq, root, a1)); err != nil {
			return err
		}
		rotated := want[0]
		rotated.Successor, rotated.RotatedAt = cid("next"), f.now
		return tx.Put(f.ctx, []revoke.Record{rotated})
	})
	f.view(func(tx revoke.Tx) error {
		got, err := tx.Get(f.ctx, []revoke.ID{root.ID})
		if err != nil {
			return err
		}
		if len(got) != 1 || got[0].Successor != cid("next") || !got[0].Revoked() {
			return fmt.Errorf("a Put after RevokeGrants in its transaction: Get = %+v, want the Put's record, revoked", got)
		}
		return nil
	})
}
