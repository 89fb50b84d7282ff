//go:build cgo

package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/sqlite"
)

// TestGrantRecreated: a grant whose last token is deleted and which gets a
// token again in the same transaction is a grant like any other: Get,
// GrantsOf and RevokeGrants find the new token.
func TestGrantRecreated(t *testing.T) {
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "grant.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).UTC()
	g, a := revoke.TokenID("g"), revoke.TokenID("a")
	root := revoke.Record{ID: g, Kind: revoke.Refresh, ClientID: "c", Subject: "s", Grant: g, ExpiresAt: exp}
	member := revoke.Record{ID: a, Kind: revoke.Access, ClientID: "c", Subject: "s", Parent: g, Grant: g, ExpiresAt: exp}
	if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{root}) }); err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx revoke.Tx) error {
		if _, err := tx.Get(ctx, []revoke.ID{g}); err != nil {
			return err
		}
		if err := tx.Delete(ctx, []revoke.ID{g}); err != nil {
			return err
		}
		if grants, err := tx.GrantsOf(ctx, revoke.BySubject, "s", revoke.ID{}, 10); err != nil || len(grants) != 0 {
			return fmt.Errorf("GrantsOf with the grant emptied = %x, %v; want none", grants, err)
		}
		return tx.Put(ctx, []revoke.Record{member}) // g's grant, now without a token
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx revoke.Tx) error {
		if got, err := tx.Get(ctx, []revoke.ID{a}); err != nil || len(got) != 1 || got[0] != member {
			t.Errorf("Get after the grant was recreated = %+v, %v; want %+v", got, err, member)
		}
		for _, by := range []revoke.Owner{revoke.BySubject, revoke.ByClient} {
			key := map[revoke.Owner]string{revoke.BySubject: "s", revoke.ByClient: "c"}[by]
			if grants, err := tx.GrantsOf(ctx, by, key, revoke.ID{}, 10); err != nil || len(grants) != 1 || grants[0] != g {
				t.Errorf("GrantsOf(%v) after the grant was recreated = %x, %v; want g", by, grants, err)
			}
		}
		revs, err := tx.RevokeGrants(ctx, 1, []revoke.ID{g})
		if err != nil || len(revs) != 1 || revs[0].ID != a {
			t.Errorf("RevokeGrants after the grant was recreated = %+v, %v; want a's", revs, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
