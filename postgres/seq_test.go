package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// A transaction that draws a number, and then Puts an imported record
// above it after another transaction claimed that number, does not commit
// its revocation at a number a follower has already read past.
func TestImportAfterNextSeqKeepsTheSequenceInOrder(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	s1, s2 := openStore(t, prefix), openStore(t, prefix)
	exp := time.Now().Add(time.Hour).UTC()
	record := func(tok string, seq uint64) revoke.Record {
		id := revoke.TokenID(tok + prefix)
		return revoke.Record{ID: id, Kind: revoke.Refresh, ClientID: "c", Grant: id, ExpiresAt: exp, Seq: seq}
	}
	revokeOne := func(tx revoke.Tx, tok string) (revoke.Record, error) {
		n, err := tx.NextSeq(ctx)
		if err != nil {
			return revoke.Record{}, err
		}
		rec := record(tok, n)
		return rec, tx.Put(ctx, []revoke.Record{rec})
	}
	drawn, claimed := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var first revoke.Record
	done := make(chan error, 1)
	go func() {
		done <- s1.Update(ctx, func(tx revoke.Tx) error {
			var err error
			if first, err = revokeOne(tx, "first-"); err != nil {
				return err
			}
			once.Do(func() { close(drawn); <-claimed })
			return tx.Put(ctx, []revoke.Record{record("imported-", 100)})
		})
	}()
	<-drawn
	var other revoke.Record
	err := s2.Update(ctx, func(tx revoke.Tx) error {
		var err error
		other, err = revokeOne(tx, "other-")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// A follower reads the other's revocation, and is past its number.
	mark := other.Seq
	close(claimed)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	seen := false
	err = s2.View(ctx, func(tx revoke.Tx) error {
		return tx.RevokedSince(ctx, mark, func(rev revoke.Revocation) error {
			seen = seen || rev.ID == first.ID
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if !seen {
		t.Errorf("a follower past Seq %d (the other transaction's) never reads the revocation committed at Seq %d", mark, first.Seq)
	}
}
