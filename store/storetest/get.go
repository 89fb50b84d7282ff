package storetest

import (
	"fmt"

	"github.com/sdkauth/revocation/revoke"
)

// testGetBatch: Get returns the records it holds of a batch of IDs, each
// once, whatever the order, the duplicates and the absent IDs of the
// batch; an empty batch returns none.
func testGetBatch(f *fixture) {
	root := f.rec("root", revoke.ID{})
	recs := []revoke.Record{root, f.rec("a1", root.ID), f.rec("a2", root.ID), withOwners(f.rec("other", revoke.ID{}), "c2", "")}
	recs[1].Seq, recs[1].Status = 4, revoke.StatusRef{List: 1, Index: 2}
	f.put(recs...)
	absent := cid("absent")
	f.view(func(tx revoke.Tx) error {
		for _, c := range []struct {
			what string
			ids  []revoke.ID
			want []revoke.Record
		}{
			{"Get of every record", ids(recs), recs},
			{"Get of a batch in another order, with duplicates and absent IDs",
				[]revoke.ID{recs[3].ID, absent, recs[1].ID, recs[3].ID, recs[0].ID, absent, recs[1].ID}, []revoke.Record{recs[3], recs[1], recs[0]}},
			{"Get of absent IDs", []revoke.ID{absent, cid("absent2")}, nil},
			{"Get of no IDs", nil, nil},
			{"Get of an empty batch", []revoke.ID{}, nil},
		} {
			got, err := tx.Get(f.ctx, c.ids)
			if err != nil {
				return fmt.Errorf("%s: %w", c.what, err)
			}
			if err := wantRecords(c.what, got, c.want); err != nil {
				f.t.Error(err)
			}
		}
		return nil
	})
}

// testGetOwnWrites: Get in an Update sees the transaction's own Puts and
// Deletes, a record Put back after its Delete and a record replaced.
func testGetOwnWrites(f *fixture) {
	root := f.rec("root", revoke.ID{})
	kept, gone, back := f.rec("kept", root.ID), f.rec("gone", root.ID), f.rec("back", root.ID)
	f.put(root, kept, gone, back)
	fresh := f.rec("fresh", root.ID)
	replaced := kept
	replaced.Seq, replaced.Successor, replaced.Retries = 9, cid("succ"), 2
	f.update(func(tx revoke.Tx) error {
		if _, err := tx.Get(f.ctx, []revoke.ID{kept.ID, gone.ID, back.ID}); err != nil {
			return err // read first: a store must not answer the later reads from this one
		}
		if err := tx.Put(f.ctx, []revoke.Record{fresh, replaced}); err != nil {
			return err
		}
		if err := tx.Delete(f.ctx, []revoke.ID{gone.ID, back.ID}); err != nil {
			return err
		}
		if err := tx.Put(f.ctx, []revoke.Record{back}); err != nil {
			return err
		}
		got, err := tx.Get(f.ctx, []revoke.ID{root.ID, kept.ID, gone.ID, back.ID, fresh.ID})
		if err != nil {
			return err
		}
		if err := wantRecords("Get after Put, Delete and Put again in the same transaction", got,
			[]revoke.Record{root, replaced, back, fresh}); err != nil {
			f.t.Error(err)
		}
		return nil
	})
}
