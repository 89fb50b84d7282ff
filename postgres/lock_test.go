package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// A Get of a write transaction that waits for a grant's lock reads, once
// it holds it, a record another transaction committed meanwhile under a
// grant its lock statement did not see: it locks that grant too, and
// returns the record.
func TestGetLocksTheGrantOfARecordCommittedWhileItWaited(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	app := "waiter_" + prefix
	open := func(dsn string) *postgres.Store {
		s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	holder, waiter, writer := open(dsn), open(dsn+"&application_name="+app), open(dsn)
	rec := func(v string) revoke.Record {
		r := revoke.Record{ID: revoke.TokenID(v + prefix), Kind: revoke.Refresh, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour).UTC()}
		r.Grant = r.ID
		return r
	}
	held, late := rec("held-"), rec("late-")
	if err := writer.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{held}) }); err != nil {
		t.Fatal(err)
	}
	holding, release := make(chan struct{}), make(chan struct{})
	holderDone := make(chan error, 1)
	go func() {
		holderDone <- holder.Update(ctx, func(tx revoke.Tx) error {
			_, err := tx.Get(ctx, []revoke.ID{held.ID}) // locks held's grant
			close(holding)
			<-release
			return err
		})
	}()
	<-holding
	type result struct {
		recs []revoke.Record
		err  error
	}
	got := make(chan result, 1)
	go func() {
		var r result
		r.err = waiter.Update(ctx, func(tx revoke.Tx) error {
			var err error
			r.recs, err = tx.Get(ctx, []revoke.ID{held.ID, late.ID})
			return err
		})
		got <- r
	}()
	waitForLock(t, app)
	// Committed while the waiter's lock statement waits: it did not see
	// late, its read after the locks does.
	if err := writer.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{late}) }); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-holderDone; err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil {
		t.Fatalf("Get after waiting for the lock: %v", r.err)
	}
	if len(r.recs) != 2 {
		t.Fatalf("Get after waiting for the lock returned %d records, want 2", len(r.recs))
	}
}
