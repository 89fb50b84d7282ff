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
