package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// testPrefetch checks the contract of revoke.Prefetcher, for a store whose
// Tx implements it: a Get after Prefetch returns what it would without it,
// for present and absent records, after a Put or a Delete made after the
// Prefetch, once the transaction's writes were sent (a read of many records,
// Grant, makes the stores that buffer writes send them), and for IDs the
// transaction wrote before the Prefetch. Duplicates and an empty list are
// accepted. For a Tx that does not implement it, the same reads run
// without the Prefetch calls, which checks those rules of Get on every
// backend alike.
func testPrefetch(t *testing.T, open func(*testing.T) revoke.Store) {
	s := open(t)
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).UTC()
	rec := func(name string, grant revoke.ID) revoke.Record {
		id := revoke.TokenID("prefetch-" + name)
		if grant.IsZero() {
			grant = id
		}
		return revoke.Record{ID: id, Kind: revoke.Refresh, ClientID: "c1", Subject: "alice", Grant: grant, ExpiresAt: exp}
	}
	kept, changed, deleted := rec("kept", revoke.ID{}), rec("changed", revoke.ID{}), rec("deleted", revoke.ID{})
	absent, added, early := rec("absent", revoke.ID{}), rec("added", changed.ID), rec("early", revoke.ID{})
	if err := s.Update(ctx, func(tx revoke.Tx) error {
		for _, r := range []revoke.Record{kept, changed, deleted} {
			if err := tx.Put(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("Update putting the records: %v", err)
	}
	changedNew := changed
	changedNew.ClientID, changedNew.Subject = "c2", "bob"

	prefetched := false
	prefetch := func(tx revoke.Tx, ids ...revoke.ID) error {
		p, ok := tx.(revoke.Prefetcher)
		if !ok {
			return nil
		}
		prefetched = true
		if err := p.Prefetch(ctx, ids); err != nil {
			return fmt.Errorf("prefetching %d IDs: %w", len(ids), err)
		}
		return nil
	}
	// members reads changed's grant, which makes a store that buffers
	// writes send them, and returns how many records it holds.
	members := func(tx revoke.Tx) (int, error) {
		n := 0
		err := tx.Grant(ctx, changed.ID, func(revoke.Record) error { n++; return nil })
		return n, err
	}

	err := s.Update(ctx, func(tx revoke.Tx) error {
		if err := tx.Put(ctx, early); err != nil {
			return err
		}
		// Duplicates, an ID written in this transaction, and an empty
		// list.
		ids := []revoke.ID{kept.ID, changed.ID, deleted.ID, absent.ID, added.ID, early.ID, kept.ID, absent.ID}
		if err := prefetch(tx, ids...); err != nil {
			return err
		}
		if err := prefetch(tx); err != nil {
			return err
		}
		if err := wantGets(ctx, tx, "", []getCase{
			{"present record after Prefetch", kept.ID, &kept},
			{"absent record after Prefetch", absent.ID, nil},
			{"record Put before Prefetch", early.ID, &early},
			{"record about to change, after Prefetch", changed.ID, &changed},
		}); err != nil {
			return err
		}
		if err := tx.Put(ctx, changedNew); err != nil {
			return err
		}
		if err := tx.Delete(ctx, deleted.ID); err != nil {
			return err
		}
		if err := tx.Put(ctx, added); err != nil {
			return err
		}
		after := []getCase{
			{"record Put after Prefetch", changed.ID, &changedNew},
			{"record deleted after Prefetch", deleted.ID, nil},
			{"absent record Put after Prefetch", added.ID, &added},
			{"untouched record", kept.ID, &kept},
		}
		if err := wantGets(ctx, tx, "", after); err != nil {
			return err
		}
		if n, err := members(tx); err != nil || n != 2 {
			return fmt.Errorf("reading the changed record's grant: %d records, err %v; want 2 (it and the added one)", n, err)
		}
		if err := wantGets(ctx, tx, ", then a read of a grant", after); err != nil {
			return err
		}
		// Prefetch again, of IDs this transaction wrote (and sent): one
		// alone, then the others.
		if err := prefetch(tx, changed.ID); err != nil {
			return err
		}
		if err := prefetch(tx, changed.ID, deleted.ID, added.ID, early.ID); err != nil {
			return err
		}
		if err := wantGets(ctx, tx, ", then Prefetch again", after); err != nil {
			return err
		}
		// A write after the second Prefetch, sent by another read.
		if err := tx.Delete(ctx, added.ID); err != nil {
			return err
		}
		if n, err := members(tx); err != nil || n != 1 {
			return fmt.Errorf("reading the grant after a Delete: %d records, err %v; want 1", n, err)
		}
		return wantGet(ctx, tx, "record deleted after the second Prefetch, then a read of a grant", added.ID, nil)
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}

	// What committed, read with and without Prefetch alike.
	err = s.View(ctx, func(tx revoke.Tx) error {
		// One present and one absent alone, then all of them.
		if err := prefetch(tx, kept.ID); err != nil {
			return err
		}
		if err := prefetch(tx, absent.ID); err != nil {
			return err
		}
		if err := prefetch(tx, kept.ID, changed.ID, deleted.ID, absent.ID, added.ID, early.ID); err != nil {
			return err
		}
		return wantGets(ctx, tx, "", []getCase{
			{"committed untouched record", kept.ID, &kept},
			{"committed replaced record", changed.ID, &changedNew},
			{"committed deletion", deleted.ID, nil},
			{"record never written", absent.ID, nil},
			{"record Put then deleted", added.ID, nil},
			{"record Put before Prefetch", early.ID, &early},
		})
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	if !prefetched {
		t.Log("the store's Tx does not implement revoke.Prefetcher: checked Get alone")
	}
}
