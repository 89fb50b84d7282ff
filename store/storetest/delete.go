package storetest

import (
	"errors"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// testDeleteBatch: one Delete removes the records of a batch with their
// index entries, skipping duplicates and IDs the store does not hold; the
// other records stay.
func testDeleteBatch(f *fixture) {
	root := f.rec("root", revoke.ID{})
	a1, a2, kept := f.rec("a1", root.ID), f.rec("a2", root.ID), f.rec("kept", root.ID)
	a1.Seq, a2.ExpiresAt = 3, f.now.Add(-time.Minute)
	f.put(root, a1, a2, kept)
	batch := []revoke.ID{a1.ID, cid("absent"), a2.ID, a1.ID}
	f.inAndAfter(func(tx revoke.Tx) error { return tx.Delete(f.ctx, batch) }, func(tx revoke.Tx, when string) error {
		ix, err := readIndexes(f, tx, []revoke.ID{root.ID, a1.ID, a2.ID, kept.ID})
		if err != nil {
			return err
		}
		left := []revoke.Record{root, kept}
		return errors.Join(wantRecords("Get after a Delete, "+when, ix.got, left), wantRecords("Scan after a Delete, "+when, ix.scanned, left),
			wantIDs("Expired after the Delete of the expired record, "+when, ix.expired, nil),
			wantEntries("RevokedSince after the Delete of the revoked record, "+when, ix.revs, nil))
	})
	f.del("absent", "absent")
}

// testDeleteLastRecordDropsGrant: a grant stays in the owner indexes while
// the store holds any record of it, root or not, and leaves them with the
// Delete of its last record, in the deleting transaction and after; a Put
// of a record of it adds it back.
func testDeleteLastRecordDropsGrant(f *fixture) {
	root := f.rec("root", revoke.ID{})
	other := f.rec("other", revoke.ID{})
	f.put(root, f.rec("a1", root.ID), f.rec("a2", root.ID), other)
	for _, step := range []struct {
		what  string
		names []string
		want  []revoke.ID
	}{
		{"after the Delete of the grant's root, two records left", []string{"root"}, []revoke.ID{root.ID, other.ID}},
		{"after the Delete of one more, one left", []string{"a1"}, []revoke.ID{root.ID, other.ID}},
		{"after the Delete of the grant's last record", []string{"a2"}, []revoke.ID{other.ID}},
	} {
		ids := make([]revoke.ID, len(step.names))
		for i, n := range step.names {
			ids[i] = cid(n)
		}
		f.inAndAfter(func(tx revoke.Tx) error { return tx.Delete(f.ctx, ids) }, func(tx revoke.Tx, when string) error {
			return f.ownedGrants(tx, step.what+", "+when, step.want...)
		})
	}
	f.put(f.rec("a3", root.ID))
	f.view(func(tx revoke.Tx) error {
		return f.ownedGrants(tx, "after a Put of a record of the dropped grant", root.ID, other.ID)
	})
	// Every record of a grant in one Delete.
	f.inAndAfter(func(tx revoke.Tx) error { return tx.Delete(f.ctx, []revoke.ID{cid("a3"), other.ID}) },
		func(tx revoke.Tx, when string) error {
			return f.ownedGrants(tx, "after one Delete of the last records of two grants, "+when)
		})
}

// testDeleteGrantRefilled: in one Update, a Get of a grant's records, the
// Delete of them all and a Put of a new record of that grant leave the
// grant in the owner indexes: a store that remembers which grants it has
// seen, to skip writing their owner entries again, forgets those a Delete
// may have dropped.
func testDeleteGrantRefilled(f *fixture) {
	root := f.rec("root", revoke.ID{})
	member := f.rec("a1", root.ID)
	f.put(root, member)
	again := f.rec("a2", root.ID)
	f.inAndAfter(func(tx revoke.Tx) error {
		if _, err := tx.Get(f.ctx, []revoke.ID{root.ID, member.ID}); err != nil {
			return err
		}
		if err := tx.Delete(f.ctx, []revoke.ID{root.ID, member.ID}); err != nil {
			return err
		}
		return tx.Put(f.ctx, []revoke.Record{again})
	}, func(tx revoke.Tx, when string) error {
		return f.ownedGrants(tx, "after a Get, the Delete of all its records and a Put of one, in one Update, "+when, root.ID)
	})
}
