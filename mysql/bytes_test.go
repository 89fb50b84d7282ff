package mysql_test

import (
	"context"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// TestBytewise: client IDs and subjects that differ only in case, trailing
// spaces or Unicode normalization are stored and found exactly, and
// GrantsOf by each finds only its own grant.
func TestBytewise(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t, freshPrefix(t))
	keys := []string{"alice", "Alice", "alice ", "jos\u00e9", "jose\u0301"}
	recs := make([]revoke.Record, len(keys))
	for i, k := range keys {
		id := revoke.TokenID("bytewise-" + k)
		recs[i] = revoke.Record{ID: id, Grant: id, Kind: revoke.Refresh, ClientID: k, Subject: k, ExpiresAt: time.Now().Add(time.Hour).UTC()}
	}
	if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, recs) }); err != nil {
		t.Fatal(err)
	}
	err := s.View(ctx, func(tx revoke.Tx) error {
		for i, k := range keys {
			got, err := tx.Get(ctx, []revoke.ID{recs[i].ID})
			if err != nil || len(got) != 1 || got[0].ClientID != k || got[0].Subject != k {
				t.Errorf("Get of the record of %q = %+v, %v; want its client ID and subject byte for byte", k, got, err)
			}
			for _, by := range []revoke.Owner{revoke.BySubject, revoke.ByClient} {
				grants, err := tx.GrantsOf(ctx, by, k, revoke.ID{}, 10)
				if err != nil || len(grants) != 1 || grants[0] != recs[i].Grant {
					t.Errorf("GrantsOf(%v, %q) = %x, %v; want its own grant alone", by, k, grants, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
