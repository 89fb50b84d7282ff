package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// A transaction the server aborted (a statement of it failed, and fn went
// on) is rolled back by its COMMIT: Update reports it, rather than nil.
func TestUpdateReportsACommitTheServerRolledBack(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := revoke.Record{ID: revoke.TokenID("aborted-" + prefix), Kind: revoke.Refresh, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour).UTC()}
	rec.Grant = rec.ID
	var stmtErr error
	err = s.Update(ctx, func(tx revoke.Tx) error {
		if err := tx.Put(ctx, []revoke.Record{rec}); err != nil {
			return err
		}
		// The server refuses a NUL in a text value: the statement fails,
		// and the transaction with it.
		_, stmtErr = tx.GrantsOf(ctx, revoke.ByClient, "a\x00b", revoke.ID{}, 10)
		return nil
	})
	if stmtErr == nil {
		t.Fatal("GrantsOf of a key with a NUL did not fail")
	}
	var found bool
	if verr := s.View(ctx, func(tx revoke.Tx) error {
		var err error
		_, found, err = getOne(ctx, tx, rec.ID)
		return err
	}); verr != nil {
		t.Fatal(verr)
	}
	if err == nil && !found {
		t.Errorf("Update returned nil, and the record it Put is not stored")
	}
	if err == nil {
		t.Errorf("Update returned nil after a statement of it failed (%v)", stmtErr)
	}
}
