package mysql_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// TestUpdateAfterDeadlock: another session holds rows that fn's Put waits
// for, then asks for the write lock fn's transaction holds; the server
// rolls fn's transaction back (a deadlock). fn ignores the error, puts
// another record and returns nil: Update must fail with ErrUnavailable,
// and keep nothing of fn's, rather than commit what ran after the rollback
// outside any transaction.
func TestUpdateAfterDeadlock(t *testing.T) {
	prefix := freshPrefix(t)
	s := open(t, prefix)
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).UTC()
	rec := func(name string) revoke.Record {
		id := revoke.TokenID(name)
		return revoke.Record{ID: id, Check: revoke.Checksum(name), Kind: revoke.Refresh, ClientID: "app", Grant: id, ExpiresAt: exp}
	}
	var held []revoke.Record
	for i := range 50 {
		held = append(held, rec(fmt.Sprint("held-", i)))
	}
	if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, held) }); err != nil {
		t.Fatal(err)
	}
	db := admin(t)
	other, err := db.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	// The other session writes 50 rows: the heavier transaction, which the
	// server keeps when it breaks the deadlock.
	for _, q := range []string{"SET TRANSACTION ISOLATION LEVEL READ COMMITTED", "START TRANSACTION", "UPDATE `" + prefix + "tokens` SET retries = 1"} {
		if _, err := other.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	defer other.ExecContext(ctx, "ROLLBACK") //nolint:errcheck
	late := rec("late")
	var first, second error
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx revoke.Tx) error {
			changed := held[0]
			changed.Retries = 2
			first = tx.Put(ctx, []revoke.Record{changed}) // waits for the other session
			second = tx.Put(ctx, []revoke.Record{late})
			return nil
		})
	}()
	// Once fn's Put is sent, the other session's request closes the cycle,
	// whichever waits first.
	for sent, deadline := 0, time.Now().Add(10*time.Second); sent == 0; time.Sleep(20 * time.Millisecond) {
		err := db.Get(&sent, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE ?", "INSERT INTO `"+prefix+"tokens`%")
		if err != nil || time.Now().After(deadline) {
			t.Fatalf("waiting for fn's Put: %v", err)
		}
	}
	if _, err := other.ExecContext(ctx, "SELECT value FROM `"+prefix+"meta` WHERE name = 'seq' FOR UPDATE"); err != nil {
		t.Fatalf("the other session lost the deadlock: %v", err)
	}
	if _, err := other.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	err = <-done
	t.Logf("first Put: %v; second Put: %v; Update: %v", first, second, err)
	if !errors.Is(first, revoke.ErrUnavailable) {
		t.Errorf("the Put rolled back by a deadlock returned %v, want an error wrapping ErrUnavailable", first)
	}
	if !errors.Is(err, revoke.ErrUnavailable) {
		t.Errorf("Update of a transaction the server rolled back returned %v, want an error wrapping ErrUnavailable", err)
	}
	err = s.View(ctx, func(tx revoke.Tx) error {
		got, err := tx.Get(ctx, []revoke.ID{late.ID})
		if err == nil && len(got) != 0 {
			t.Errorf("the record put after the rollback was kept")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
