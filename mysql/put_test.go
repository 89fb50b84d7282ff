package mysql_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// TestPutAfterFailedPut: a Put that fails on a record too long for its
// columns writes nothing, and a later Put in the same Update of a record
// of the same grant writes the grant's owner rows: the failed Put leaves
// no grant noted as having them.
func TestPutAfterFailedPut(t *testing.T) {
	s := open(t, freshPrefix(t))
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).UTC()
	rec := func(name, client string, grant revoke.ID) revoke.Record {
		id := revoke.TokenID(name)
		r := revoke.Record{ID: id, Check: revoke.Checksum(name), Kind: revoke.Access, ClientID: client, Subject: "alice", Grant: grant, Parent: grant, ExpiresAt: exp}
		if grant.IsZero() {
			r.Kind, r.Grant, r.Parent = revoke.Refresh, id, revoke.ID{}
		}
		return r
	}
	root := rec("root", "app", revoke.ID{})
	tooLong := rec("too-long", strings.Repeat("c", revoke.MaxClientIDLength+1), revoke.ID{})
	err := s.Update(ctx, func(tx revoke.Tx) error {
		if err := tx.Put(ctx, []revoke.Record{root, tooLong}); err == nil {
			t.Error("Put of a client ID longer than MaxClientIDLength returned nil")
		}
		return tx.Put(ctx, []revoke.Record{root, rec("member", "app", root.ID)})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx revoke.Tx) error {
		for _, o := range []struct {
			by  revoke.Owner
			key string
		}{{revoke.ByClient, "app"}, {revoke.BySubject, "alice"}} {
			got, err := tx.GrantsOf(ctx, o.by, o.key, revoke.ID{}, 10)
			if err != nil {
				return err
			}
			if len(got) != 1 || got[0] != root.ID {
				t.Errorf("GrantsOf(%v, %q) = %v, want the grant [%v]", o.by, o.key, got, root.ID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
