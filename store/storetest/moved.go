package storetest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// testGrantsFollowMovedRecord: a Put that moves a grant's only record to
// another grant (as an import may) takes the record's owners with it; the
// old grant is listed under no owner until a record joins it again, and
// then under that record's owners alone.
func testGrantsFollowMovedRecord(t *testing.T, open func(*testing.T) revoke.Store) {
	s := open(t)
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	a, b, c := revoke.TokenID("moved-a"), revoke.TokenID("moved-b"), revoke.TokenID("moved-c")
	exp := time.Now().Add(time.Hour).UTC()
	put := func(rec revoke.Record) {
		t.Helper()
		if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, rec) }); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	grants := func(by revoke.Owner, key string) []revoke.ID {
		t.Helper()
		var ids []revoke.ID
		err := s.View(ctx, func(tx revoke.Tx) error {
			return tx.Grants(ctx, by, key, revoke.ID{}, 10, func(id revoke.ID) error {
				ids = append(ids, id)
				return nil
			})
		})
		if err != nil {
			t.Fatalf("Grants: %v", err)
		}
		return ids
	}
	put(revoke.Record{ID: a, Kind: revoke.Refresh, ClientID: "client-a", Subject: "subject-a", Grant: a, ExpiresAt: exp})
	put(revoke.Record{ID: a, Kind: revoke.Refresh, ClientID: "client-a", Subject: "subject-a", Grant: b, Parent: b, ExpiresAt: exp})
	for _, by := range []struct {
		owner revoke.Owner
		key   string
	}{{revoke.ByClient, "client-a"}, {revoke.BySubject, "subject-a"}} {
		if got := grants(by.owner, by.key); !slices.Equal(got, []revoke.ID{b}) {
			t.Errorf("after the move, Grants(%v, %q) = %d grants, want only the new one", by.owner, by.key, len(got))
		}
	}
	put(revoke.Record{ID: c, Kind: revoke.Access, ClientID: "client-z", Subject: "subject-z", Grant: a, Parent: a, ExpiresAt: exp})
	if got := grants(revoke.ByClient, "client-a"); !slices.Equal(got, []revoke.ID{b}) {
		t.Errorf("after another client's record joined the old grant, Grants(client-a) = %d grants, want only the new one", len(got))
	}
	if got := grants(revoke.ByClient, "client-z"); !slices.Equal(got, []revoke.ID{a}) {
		t.Errorf("Grants(client-z) = %d grants, want the old grant", len(got))
	}
}

// testRootPutBack: a grant whose first token was deleted (a purge of that
// token, or an import's Delete) keeps its other records, and the first
// token Put back joins them: Grant lists the grant's records, old and new.
// Also a token that starts a grant of its own after it was in another.
func testRootPutBack(t *testing.T, open func(*testing.T) revoke.Store) {
	s := open(t)
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	root, member, other := revoke.TokenID("putback-root"), revoke.TokenID("putback-member"), revoke.TokenID("putback-other")
	exp := time.Now().Add(time.Hour).UTC()
	update := func(fn func(tx revoke.Tx) error) {
		t.Helper()
		if err := s.Update(ctx, fn); err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	members := func(grant revoke.ID) []revoke.ID {
		t.Helper()
		var ids []revoke.ID
		err := s.View(ctx, func(tx revoke.Tx) error {
			return tx.Grant(ctx, grant, func(rec revoke.Record) error {
				ids = append(ids, rec.ID)
				return nil
			})
		})
		if err != nil {
			t.Fatalf("Grant: %v", err)
		}
		slices.SortFunc(ids, func(a, b revoke.ID) int { return bytes.Compare(a[:], b[:]) })
		return ids
	}
	want := func(ids ...revoke.ID) []revoke.ID {
		slices.SortFunc(ids, func(a, b revoke.ID) int { return bytes.Compare(a[:], b[:]) })
		return ids
	}
	rootRec := revoke.Record{ID: root, Kind: revoke.Refresh, ClientID: "c", Grant: root, ExpiresAt: exp}
	update(func(tx revoke.Tx) error {
		if err := tx.Put(ctx, rootRec); err != nil {
			return err
		}
		return tx.Put(ctx, revoke.Record{ID: member, Kind: revoke.Access, ClientID: "c", Grant: root, Parent: root, ExpiresAt: exp})
	})
	update(func(tx revoke.Tx) error { return tx.Delete(ctx, root) })
	if got := members(root); !slices.Equal(got, want(member)) {
		t.Fatalf("after its first token was deleted, Grant lists %d records, want the other one", len(got))
	}
	update(func(tx revoke.Tx) error { return tx.Put(ctx, rootRec) })
	if got := members(root); !slices.Equal(got, want(root, member)) {
		t.Errorf("after its first token was Put back, Grant lists %d records, want both", len(got))
	}
	// A token of another grant that becomes the first token of a grant of
	// its own: the new grant holds it alone, the old one keeps the rest.
	update(func(tx revoke.Tx) error {
		return tx.Put(ctx, revoke.Record{ID: other, Kind: revoke.Access, ClientID: "c", Grant: root, Parent: root, ExpiresAt: exp})
	})
	update(func(tx revoke.Tx) error {
		return tx.Put(ctx, revoke.Record{ID: other, Kind: revoke.Refresh, ClientID: "c", Grant: other, ExpiresAt: exp})
	})
	if got := members(other); !slices.Equal(got, want(other)) {
		t.Errorf("Grant of the token's own grant lists %d records, want 1", len(got))
	}
	if got := members(root); !slices.Equal(got, want(root, member)) {
		t.Errorf("Grant of the grant it left lists %d records, want 2", len(got))
	}
}
