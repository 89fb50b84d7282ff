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
// that returns records (Get, Scan), and their index entries through
// RevokeGrants and RevokedSince: in the writing transaction and in a later
// one.
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
		leaf: {ID: leaf, Check: 2, Kind: revoke.Access, ClientID: "c1", Subject: "alice", Parent: mid, Grant: root,
			ExpiresAt: exp.Add(2), Status: revoke.StatusRef{List: math.MaxInt64 + 1, Index: 3}},
	}
	read := func(tx revoke.Tx) {
		t.Helper()
		recs, err := tx.Get(ctx, []revoke.ID{leaf, root, mid, root, revoke.TokenID("none")})
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		checkRecords(t, "Get", want, recs)
		if recs, err = tx.Scan(ctx, revoke.ID{}, 10); err != nil {
			t.Fatalf("Scan: %v", err)
		}
		checkRecords(t, "Scan", want, recs)
		var revs []revoke.Revocation
		err = tx.RevokedSince(ctx, 0, func(rev revoke.Revocation) error { revs = append(revs, rev); return nil })
		if err != nil {
			t.Fatalf("RevokedSince: %v", err)
		}
		checkRevocations(t, "RevokedSince", want, revs, len(want))
	}
	err = s.Update(ctx, func(tx revoke.Tx) error {
		if err := tx.Put(ctx, []revoke.Record{want[root], want[mid], want[leaf]}); err != nil {
			return err
		}
		seq, err := tx.NextSeq(ctx)
		if err != nil {
			return err
		}
		revs, err := tx.RevokeGrants(ctx, seq, []revoke.ID{root, root, revoke.TokenID("no grant")})
		if err != nil {
			return err
		}
		for _, id := range []revoke.ID{mid, leaf} {
			rec := want[id]
			rec.Seq = seq
			want[id] = rec
		}
		checkRevocations(t, "RevokeGrants", want, revs, 2) // root was revoked already
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

// checkRecords reports the records of recs that are not those of want, and
// a count of them other than want's.
func checkRecords(t *testing.T, how string, want map[revoke.ID]revoke.Record, recs []revoke.Record) {
	t.Helper()
	if len(recs) != len(want) {
		t.Errorf("%s read %d records, want %d", how, len(recs), len(want))
	}
	for _, rec := range recs {
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
}

// checkRevocations reports the entries of revs that are not those of the
// records of want, and a count of them other than n.
func checkRevocations(t *testing.T, how string, want map[revoke.ID]revoke.Record, revs []revoke.Revocation, n int) {
	t.Helper()
	if len(revs) != n {
		t.Errorf("%s: %d revocations, want %d", how, len(revs), n)
	}
	for _, rev := range revs {
		if w := want[rev.ID].Revocation(); rev != w {
			t.Errorf("%s:\n got %+v\nwant %+v", how, rev, w)
		}
	}
}

// TestImportRaisesTheSequence: a record Put with its Seq (an import) keeps
// the sequence above it, within its own transaction too; a rolled-back
// import raises nothing; and the import is announced on the change feed,
// as a revocation is.
func TestImportRaisesTheSequence(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	s := openStore(t, prefix)
	other := openStore(t, prefix)
	feed, err := other.Capabilities().Notify(ctx)
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
		if err := tx.Put(ctx, []revoke.Record{imported("a", 50)}); err != nil {
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
	update(func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{imported("b", 80)}) })
	select {
	case <-feed:
	case <-time.After(5 * time.Second):
		t.Error("an import of a revoked record was not announced on the feed")
	}
	if n := nextSeq(); n != 81 {
		t.Errorf("NextSeq after an import of Seq 80 = %d, want 81", n)
	}
	// A lower Seq lowers nothing.
	update(func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{imported("c", 3)}) })
	if n := nextSeq(); n != 82 {
		t.Errorf("NextSeq after an import of Seq 3 = %d, want 82", n)
	}
	// A rolled-back import raises nothing.
	errRollback := errors.New("roll back")
	err = s.Update(ctx, func(tx revoke.Tx) error {
		if err := tx.Put(ctx, []revoke.Record{imported("d", 1000)}); err != nil {
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

// TestOwnerRowsFollowTheGrants: a grant is found by its subject and client
// from the first Put of any of its records, root or not, byte for byte,
// until the Delete of its last record, in the transaction that writes and
// after it.
func TestOwnerRowsFollowTheGrants(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(freshPrefix(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	grant, a, b := revoke.TokenID("g"), revoke.TokenID("a"), revoke.TokenID("b")
	rec := func(id revoke.ID, subject string) revoke.Record {
		return revoke.Record{ID: id, Kind: revoke.Access, ClientID: "c\u00e9", Subject: subject, Parent: grant, Grant: grant, ExpiresAt: time.Now().Add(time.Hour)}
	}
	grantsOf := func(tx revoke.Tx, by revoke.Owner, key string) int {
		t.Helper()
		grants, err := tx.GrantsOf(ctx, by, key, revoke.ID{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(grants) > 0 && grants[0] != grant {
			t.Fatalf("GrantsOf(%v, %q) = %x", by, key, grants)
		}
		return len(grants)
	}
	want := func(how string, n int) {
		t.Helper()
		for _, run := range []func(context.Context, func(revoke.Tx) error) error{s.Update, s.View} {
			_ = run(ctx, func(tx revoke.Tx) error {
				if got := grantsOf(tx, revoke.BySubject, "alice") + grantsOf(tx, revoke.ByClient, "c\u00e9"); got != 2*n {
					t.Errorf("%s: %d owner rows of the grant, want %d", how, got, 2*n)
				}
				if grantsOf(tx, revoke.BySubject, "Alice")+grantsOf(tx, revoke.BySubject, "alice ")+grantsOf(tx, revoke.ByClient, "ce\u0301") != 0 {
					t.Errorf("%s: an owner found by a key that is not its own", how)
				}
				return nil
			})
		}
	}
	update := func(fn func(tx revoke.Tx) error) {
		t.Helper()
		if err := s.Update(ctx, fn); err != nil {
			t.Fatal(err)
		}
	}
	update(func(tx revoke.Tx) error {
		if err := tx.Put(ctx, []revoke.Record{rec(a, "alice"), rec(b, "alice")}); err != nil {
			return err
		}
		if grantsOf(tx, revoke.BySubject, "alice") != 1 {
			t.Error("the transaction that put the grant does not see its owner row")
		}
		return nil
	})
	want("a grant without its root", 1)
	update(func(tx revoke.Tx) error { return tx.Delete(ctx, []revoke.ID{a, a, grant}) })
	want("a record of two deleted", 1)
	update(func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec(b, "alice")}) })
	update(func(tx revoke.Tx) error { return tx.Delete(ctx, []revoke.ID{b}) })
	want("the last record deleted", 0)
}
