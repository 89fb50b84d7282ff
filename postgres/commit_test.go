package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// A transaction the server aborted (a statement of it failed, and fn went
// on) is rolled back by its COMMIT: Update reports it, rather than nil.
func TestUpdateReportsACommitTheServerRolledBack(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	s := openStore(t, prefix)
	rec := revoke.Record{ID: revoke.TokenID("aborted-" + prefix), Kind: revoke.Refresh, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour).UTC()}
	rec.Grant = rec.ID
	var stmtErr error
	err := s.Update(ctx, func(tx revoke.Tx) error {
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

// Two replicas issuing one token at once: the second's insert fails on the
// unique index, and its transaction runs again and finds the token issued,
// so that both Issues succeed.
func TestConcurrentIssuesOfOneTokenSucceed(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	var rs []*revoke.Revoker
	for range 2 {
		rs = append(rs, newRevoker(t, openStore(t, prefix)))
	}
	exp := time.Now().Add(time.Hour)
	for i := range 50 {
		tok := revoke.Token{Value: fmt.Sprintf("twice-%s-%d", prefix, i), Kind: revoke.Refresh, ClientID: "c", ExpiresAt: exp}
		var wg sync.WaitGroup
		errs := make([]error, len(rs))
		for j, r := range rs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[j] = r.Issue(ctx, tok)
			}()
		}
		wg.Wait()
		for j, err := range errs {
			if err != nil {
				t.Fatalf("Issue %d of token %d on replica %d: %v", i, i, j, err)
			}
		}
	}
}
