package storetest

import (
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
