package postgres_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// TestRecordsReadBackThroughEveryQuery puts records with every field set,
// rotation state included, and reads them back through each Tx method
// that returns records (Get, Grant, Expired, Scan): in the writing
// transaction, where they are buffered, and in a later one.
func TestRecordsReadBackThroughEveryQuery(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(freshPrefix(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	exp := time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.UTC)
	root, mid, leaf := revoke.TokenID("rt-0"), revoke.TokenID("rt-1"), revoke.TokenID("at-2")
	want := map[revoke.ID]revoke.Record{
		root: {ID: root, Check: math.MaxUint32, Kind: revoke.Refresh, ClientID: "c1", Subject: "alice", Grant: root,
			ExpiresAt: exp, Seq: 7, Successor: mid, RotatedAt: exp.Add(-time.Hour + 1), Retries: math.MaxUint32,
			Status: revoke.StatusRef{List: math.MaxUint64, Index: math.MaxUint32}},
		mid: {ID: mid, Check: 1, Kind: revoke.Refresh, ClientID: "c1", Subject: "alice", Parent: root, Grant: root,
			ExpiresAt: exp.Add(1), Superseded: true, Status: revoke.StatusRef{List: 1}},
		leaf: {ID: leaf, Check: 2, Kind: revoke.Access, ClientID: "c1", Parent: mid, Grant: root,
			ExpiresAt: exp.Add(2)},
	}
	read := func(tx revoke.Tx) {
		t.Helper()
		check := func(how string, rec revoke.Record) {
			t.Helper()
			w, ok := want[rec.ID]
			switch {
			case !ok:
				t.Errorf("%s: a record that was not put: %x", how, rec.ID[:4])
			case !reflect.DeepEqual(rec, w):
				t.Errorf("%s:\n got %+v\nwant %+v", how, rec, w)
			case rec.RotatedAt.Location() != time.UTC || rec.ExpiresAt.Location() != time.UTC:
				t.Errorf("%s: times not in UTC", how)
			}
		}
		counts := map[string]int{}
		for id := range want {
			rec, found, err := tx.Get(ctx, id)
			if err != nil || !found {
				t.Fatalf("Get: %v, found %v", err, found)
			}
			check("Get", rec)
			counts["Get"]++
		}
		visit := func(how string) func(revoke.Record) error {
			return func(rec revoke.Record) error { check(how, rec); counts[how]++; return nil }
		}
		if err := tx.Grant(ctx, root, visit("Grant")); err != nil {
			t.Fatalf("Grant: %v", err)
		}
		if err := tx.Expired(ctx, exp.Add(time.Hour), 10, visit("Expired")); err != nil {
			t.Fatalf("Expired: %v", err)
		}
		if err := tx.Scan(ctx, revoke.ID{}, 10, visit("Scan")); err != nil {
			t.Fatalf("Scan: %v", err)
		}
		for _, how := range []string{"Get", "Grant", "Expired", "Scan"} {
			if counts[how] != len(want) {
				t.Errorf("%s read %d records, want %d", how, counts[how], len(want))
			}
		}
	}
	err = s.Update(ctx, func(tx revoke.Tx) error {
		for _, rec := range want {
			if err := tx.Put(ctx, rec); err != nil {
				return err
			}
		}
		read(tx)
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := s.View(ctx, func(tx revoke.Tx) error { read(tx); return nil }); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// TestImportRaisesTheSequence: a record Put with its Seq (an import) keeps
// the sequence above it, within its own transaction too; a rolled-back
// import raises nothing; and the import is announced on the change feed,
// as a revocation is.
func TestImportRaisesTheSequence(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	feed, err := other.Notify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-feed: // listening
	case <-time.After(5 * time.Second):
		t.Fatal("the feed did not start")
	}
	exp := time.Now().Add(time.Hour)
	imported := func(tok string, seq uint64) revoke.Record {
		id := revoke.TokenID(tok)
		return revoke.Record{ID: id, Kind: revoke.Refresh, ClientID: "c1", Grant: id, ExpiresAt: exp, Seq: seq}
	}
	update := func(fn func(tx revoke.Tx) error) {
		t.Helper()
		if err := s.Update(ctx, fn); err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	nextSeq := func() uint64 {
		t.Helper()
		var n uint64
		update(func(tx revoke.Tx) error {
			var err error
			n, err = tx.NextSeq(ctx)
			return err
		})
		return n
	}

	update(func(tx revoke.Tx) error {
		if err := tx.Put(ctx, imported("a", 50)); err != nil {
			return err
		}
		n, err := tx.NextSeq(ctx)
		if err == nil && n <= 50 {
			t.Errorf("NextSeq after a Put of Seq 50 in the same transaction = %d", n)
		}
		return err
	})
	select {
	case <-feed: // the NextSeq's
	case <-time.After(5 * time.Second):
		t.Fatal("a transaction that took a sequence number was not announced on the feed")
	}
	update(func(tx revoke.Tx) error { return tx.Put(ctx, imported("b", 80)) })
	select {
	case <-feed:
	case <-time.After(5 * time.Second):
		t.Error("an import of a revoked record was not announced on the feed")
	}
	if n := nextSeq(); n != 81 {
		t.Errorf("NextSeq after an import of Seq 80 = %d, want 81", n)
	}
	// A lower Seq lowers nothing.
	update(func(tx revoke.Tx) error { return tx.Put(ctx, imported("c", 3)) })
	if n := nextSeq(); n != 82 {
		t.Errorf("NextSeq after an import of Seq 3 = %d, want 82", n)
	}
	// A rolled-back import raises nothing.
	errRollback := errors.New("roll back")
	err = s.Update(ctx, func(tx revoke.Tx) error {
		if err := tx.Put(ctx, imported("d", 1000)); err != nil {
			return err
		}
		// Read, so that the buffered Put and the raise are written.
		if err := tx.Scan(ctx, revoke.ID{}, 1, func(revoke.Record) error { return nil }); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Update: %v, want its error", err)
	}
	if n := nextSeq(); n != 83 {
		t.Errorf("NextSeq after a rolled-back import of Seq 1000 = %d, want 83", n)
	}
}
