package storetest

import (
	"errors"
	"fmt"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// testPutBatch: one Put of many records of many grants stores every one
// with its indexes: Get, Scan and RevokedSince see them all, GrantsOf each
// grant once.
func testPutBatch(f *fixture) {
	var recs []revoke.Record
	var grants []revoke.ID
	for g := range 20 {
		root := f.rec(fmt.Sprintf("batch-%d", g), revoke.ID{})
		grants = append(grants, root.ID)
		recs = append(recs, root)
		for a := range g % 4 {
			rec := f.rec(fmt.Sprintf("batch-%d-%d", g, a), root.ID)
			if a%2 == 1 {
				rec.Seq = uint64(g*10 + a) // revoked, as an import writes it
			}
			recs = append(recs, rec)
		}
	}
	f.inAndAfter(func(tx revoke.Tx) error { return tx.Put(f.ctx, recs) }, func(tx revoke.Tx, when string) error {
		ix, err := readIndexes(f, tx, ids(recs))
		if err != nil {
			return err
		}
		listed, err := allGrantsOf(f.ctx, tx, revoke.BySubject, "alice")
		if err != nil {
			return err
		}
		return errors.Join(wantRecords("Get "+when, ix.got, recs), wantRecords("Scan "+when, ix.scanned, recs),
			wantIDs("GrantsOf "+when, listed, grants), wantEntries("RevokedSince "+when, ix.revs, recs))
	})
}

// wantEntries checks that revs are the index entries of the revoked
// records of recs, each once.
func wantEntries(what string, revs []revoke.Revocation, recs []revoke.Record) error {
	want := make(map[revoke.ID]revoke.Revocation)
	for _, rec := range recs {
		if rec.Revoked() {
			want[rec.ID] = rec.Revocation()
		}
	}
	if len(revs) != len(want) {
		return fmt.Errorf("%s reported %d entries, want %d", what, len(revs), len(want))
	}
	for _, rev := range revs {
		w, ok := want[rev.ID]
		if !ok || rev.Seq != w.Seq || rev.Check != w.Check || !rev.ExpiresAt.Equal(w.ExpiresAt) || rev.Status != w.Status {
			return fmt.Errorf("%s reported %+v, want %+v", what, rev, w)
		}
		delete(want, rev.ID) // a second entry of the ID fails the lookup above
	}
	return nil
}

// testPutReplacesRecord: a Put of an ID the store holds replaces the record
// and moves its index entries: Get and Scan read the new fields, Expired
// and RevokedSince follow the new ExpiresAt and Seq, and the old entries
// are gone, whether revoked or live, expired or not, before.
func testPutReplacesRecord(f *fixture) {
	root := f.rec("root", revoke.ID{})
	orig := f.rec("a1", root.ID)
	f.put(root, orig)
	next := orig
	next.Seq, next.ExpiresAt, next.Successor = 7, f.now.Add(-time.Minute), cid("succ")
	next.RotatedAt, next.Superseded, next.Retries = f.now, true, 3
	next.Status, next.Check = revoke.StatusRef{List: 3, Index: 4}, orig.Check+1
	back := orig
	back.Status = revoke.StatusRef{List: 5, Index: 6}
	for _, step := range []struct {
		what string
		rec  revoke.Record
	}{{"revoked and expired", next}, {"live again and unexpired", back}} {
		f.inAndAfter(func(tx revoke.Tx) error { return tx.Put(f.ctx, []revoke.Record{step.rec}) },
			func(tx revoke.Tx, when string) error {
				return checkReplaced(f, tx, fmt.Sprintf("a record replaced by one %s, %s", step.what, when), root, step.rec)
			})
	}
}

// checkReplaced checks that tx holds root and rec, replaced, and nothing
// of what rec was before.
func checkReplaced(f *fixture, tx revoke.Tx, what string, root, rec revoke.Record) error {
	ix, err := readIndexes(f, tx, []revoke.ID{rec.ID})
	if err != nil {
		return err
	}
	var wantExpired []revoke.ID
	if rec.ExpiresAt.Before(f.now) {
		wantExpired = append(wantExpired, rec.ID)
	}
	return errors.Join(wantRecords("Get of "+what, ix.got, []revoke.Record{rec}),
		wantRecords("Scan of "+what, ix.scanned, []revoke.Record{root, rec}),
		wantIDs("Expired of "+what, ix.expired, wantExpired),
		wantEntries("RevokedSince of "+what, ix.revs, []revoke.Record{rec}))
}

// testPutMemberWithoutRoot: an import may Put a grant's records without
// its root. The first Put of any record of a grant adds the grant to the
// owner indexes, and RevokeGrants finds its records; the root Put later
// joins them, and the grant stays listed once while any record is left.
func testPutMemberWithoutRoot(f *fixture) {
	root := withOwners(f.rec("root", revoke.ID{}), "importer", "imported")
	member := withOwners(f.rec("member", root.ID), "importer", "imported")
	listed := func(tx revoke.Tx, what string, want ...revoke.ID) error {
		return f.ownedGrantsOf(tx, "importer", "imported", what, want...)
	}
	f.inAndAfter(func(tx revoke.Tx) error { return tx.Put(f.ctx, []revoke.Record{member}) }, func(tx revoke.Tx, when string) error {
		return listed(tx, "after the Put of a member of a grant whose root the store does not hold, "+when, root.ID)
	})
	f.put(root)
	f.view(func(tx revoke.Tx) error { return listed(tx, "after its root joined it", root.ID) })
	f.del("member")
	f.view(func(tx revoke.Tx) error { return listed(tx, "after the member's Delete, the root left", root.ID) })
	f.put(member)
	f.del("root")
	f.update(func(tx revoke.Tx) error {
		seq, revs, err := revokeGrants(f.ctx, tx, root.ID)
		if err != nil {
			return err
		}
		return wantRevocations("RevokeGrants of a grant without its root", revs, seq, member)
	})
}

// testPutAgainUnderAnotherGrant: a record deleted may be Put again under
// another grant, in the same transaction: it leaves its old grant, whose
// RevokeGrants no longer finds it and which GrantsOf no longer lists once
// it has no record, and joins the new one.
func testPutAgainUnderAnotherGrant(f *fixture) {
	oldRoot := withOwners(f.rec("old-root", revoke.ID{}), "c1", "moved-from")
	newRoot := withOwners(f.rec("new-root", revoke.ID{}), "c1", "moved-to")
	member := withOwners(f.rec("member", oldRoot.ID), "c1", "moved-from")
	f.put(oldRoot, newRoot, member)
	moved := withOwners(f.rec("member", newRoot.ID), "c1", "moved-to")
	f.inAndAfter(func(tx revoke.Tx) error {
		if err := tx.Delete(f.ctx, []revoke.ID{oldRoot.ID, member.ID}); err != nil {
			return err
		}
		return tx.Put(f.ctx, []revoke.Record{moved})
	}, func(tx revoke.Tx, when string) error {
		from, err := tx.GrantsOf(f.ctx, revoke.BySubject, "moved-from", revoke.ID{}, 10)
		if err != nil {
			return err
		}
		to, err := tx.GrantsOf(f.ctx, revoke.BySubject, "moved-to", revoke.ID{}, 10)
		if err != nil {
			return err
		}
		return errors.Join(wantIDs("GrantsOf of the grant left without records, "+when, from, nil),
			wantIDs("GrantsOf of the grant the record joined, "+when, to, []revoke.ID{newRoot.ID}))
	})
	f.update(func(tx revoke.Tx) error {
		seq, revs, err := revokeGrants(f.ctx, tx, oldRoot.ID)
		if err != nil {
			return err
		}
		return wantRevocations("RevokeGrants of the grant the record left", revs, seq)
	})
	f.update(func(tx revoke.Tx) error {
		seq, revs, err := revokeGrants(f.ctx, tx, newRoot.ID)
		if err != nil {
			return err
		}
		return wantRevocations("RevokeGrants of the grant the record joined", revs, seq, newRoot, moved)
	})
}
