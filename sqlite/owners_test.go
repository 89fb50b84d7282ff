//go:build cgo

package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/sqlite"
)

// TestOwnersFollowRecords: the store keeps one owners entry per grant and
// subject or client. A grant stays listed under a subject or client while
// any of its records has it, whichever records go (the first token of the
// grant included), and is no longer listed once none has.
func TestOwnersFollowRecords(t *testing.T) {
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "owners.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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
				if err := tx.Put(ctx, r); err != nil {
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
				if err := tx.Delete(ctx, revoke.TokenID(n)); err != nil {
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
				return tx.Grants(ctx, by, key, revoke.ID{}, 10, func(g revoke.ID) error {
					got = append(got, g)
					return nil
				})
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

	// a1 changes client and subject: a2 keeps the old ones listed.
	put(rec("a1", "c2", "bob"))
	listed("a1 moved to c2 and bob", true, sub, "alice", cli, "c1", sub, "bob", cli, "c2")

	del("a2")
	listed("the last token of c1 and alice deleted", false, sub, "alice", cli, "c1")
	listed("the last token of c1 and alice deleted", true, sub, "bob", cli, "c2")

	// a1 loses its subject: only its client lists the grant.
	put(rec("a1", "c2", ""))
	listed("a1 without a subject", false, sub, "bob")
	listed("a1 without a subject", true, cli, "c2")

	del("a1")
	listed("every token deleted", false, sub, "alice", cli, "c1", sub, "bob", cli, "c2")

	// A token put in the transaction that read its parent, with owners of
	// its own: the parent's entries do not stand for them.
	put(rec("root", "c1", "alice"))
	write(func(tx revoke.Tx) error {
		if _, _, err := tx.Get(ctx, root); err != nil {
			return err
		}
		return tx.Put(ctx, rec("a3", "c3", "carol"))
	})
	listed("a token with owners of its own", true, sub, "alice", cli, "c1", sub, "carol", cli, "c3")
}

// TestGrantRecreated: a grant whose last token is deleted and which gets a
// token again in the same transaction is a grant like any other: Get and
// Grant find the new token.
func TestGrantRecreated(t *testing.T) {
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "grant.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).UTC()
	g, a := revoke.TokenID("g"), revoke.TokenID("a")
	root := revoke.Record{ID: g, Kind: revoke.Refresh, ClientID: "c", Grant: g, ExpiresAt: exp}
	member := revoke.Record{ID: a, Kind: revoke.Access, ClientID: "c", Parent: g, Grant: g, ExpiresAt: exp}
	if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, root) }); err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx revoke.Tx) error {
		if _, _, err := tx.Get(ctx, g); err != nil {
			return err
		}
		if err := tx.Delete(ctx, g); err != nil {
			return err
		}
		return tx.Put(ctx, member) // g's grant, now without a token
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx revoke.Tx) error {
		if got, found, err := tx.Get(ctx, a); err != nil || !found || got != member {
			t.Errorf("Get after the grant was recreated = %+v, %v, %v; want %+v", got, found, err, member)
		}
		var ids []revoke.ID
		if err := tx.Grant(ctx, g, func(r revoke.Record) error { ids = append(ids, r.ID); return nil }); err != nil {
			return err
		}
		if len(ids) != 1 || ids[0] != a {
			t.Errorf("Grant after the grant was recreated = %x, want a's ID", ids)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
