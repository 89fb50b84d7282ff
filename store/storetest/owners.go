package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// testOwnersFollowRecords: the store keeps one owners entry per grant and
// subject or client. A grant stays listed under a subject or client while
// any of its records has it, whichever records go (the first token of the
// grant included), and is no longer listed once none has.
func testOwnersFollowRecords(t *testing.T, open func(*testing.T) revoke.Store) {
	s := open(t)
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).UTC()
	root := revoke.TokenID("root")
	rec := func(name string, client, subject string) revoke.Record {
		id := revoke.TokenID(name)
		r := revoke.Record{ID: id, Kind: revoke.Access, ClientID: client, Subject: subject, Parent: root, Grant: root, ExpiresAt: exp}
		if id == root {
			r.Kind, r.Parent = revoke.Refresh, revoke.ID{}
		}
		return r
	}
	write := func(fn func(revoke.Tx) error) {
		t.Helper()
		if err := s.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	put := func(recs ...revoke.Record) {
		t.Helper()
		write(func(tx revoke.Tx) error {
			for _, r := range recs {
				if err := tx.Put(ctx, []revoke.Record{r}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	del := func(names ...string) {
		t.Helper()
		write(func(tx revoke.Tx) error {
			for _, n := range names {
				if err := tx.Delete(ctx, []revoke.ID{revoke.TokenID(n)}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	// listed wants Grants to list root's grant (or not) under each owner.
	listed := func(step string, want bool, owners ...any) {
		t.Helper()
		for i := 0; i < len(owners); i += 2 {
			by, key := owners[i].(revoke.Owner), owners[i+1].(string)
			var got []revoke.ID
			err := s.View(ctx, func(tx revoke.Tx) error {
				var err error
				got, err = tx.GrantsOf(ctx, by, key, revoke.ID{}, 10)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if is := len(got) == 1 && got[0] == root; is != want || len(got) > 1 {
				t.Errorf("%s: Grants(%v %q) = %x, want the grant listed: %v", step, by, key, got, want)
			}
		}
	}
	const sub, cli = revoke.BySubject, revoke.ByClient

	put(rec("root", "c1", "alice"), rec("a1", "c1", "alice"), rec("a2", "c1", "alice"))
	listed("issued", true, sub, "alice", cli, "c1")

	del("root")
	listed("the first token deleted, two others left", true, sub, "alice", cli, "c1")

	del("a1")
	listed("one token left", true, sub, "alice", cli, "c1")

	del("a2")
	listed("every token deleted", false, sub, "alice", cli, "c1")
}
