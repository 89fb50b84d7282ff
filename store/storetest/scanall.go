package storetest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sdkauth/revocation/internal/harness"
	"github.com/sdkauth/revocation/revoke"
)

// testScanAllCopy: revoke.ScanAll reads every record a Revoker wrote once,
// in ascending ID order; a copy made with it and Put, Seqs kept as an
// import keeps them, holds NextSeq above the copied Seqs and loads, in a
// new Revoker, the same revoked set.
func testScanAllCopy(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	ctx := e.Ctx
	revoked, live, want := scanFixture(e)
	var all []revoke.Record
	if err := revoke.ScanAll(ctx, e.Store, 5, func(rec revoke.Record) error {
		all = append(all, rec)
		return nil
	}); err != nil {
		t.Fatalf("ScanAll: %v", err)
	}
	if !slices.EqualFunc(all, want, sameRecord) {
		t.Fatalf("ScanAll in pages of 5 read %d records, want the %d stored, each once, in ascending ID order", len(all), len(want))
	}

	// Copy into a fresh store, Seqs kept, as an import does.
	dst := open(t)
	copied := 0
	if err := revoke.ScanAll(ctx, e.Store, 4, func(rec revoke.Record) error {
		copied++
		return dst.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) })
	}); err != nil {
		t.Fatalf("copying: %v", err)
	}
	if copied != len(want) {
		t.Errorf("ScanAll copied %d records, want %d", copied, len(want))
	}
	var high uint64
	for _, rec := range want {
		high = max(high, rec.Seq)
	}
	checkCopy(t, dst, high, revoked, live)
}

// scanFixture issues grants through e's Revoker, revokes some, and returns
// the revoked and the live tokens and the records of them all, in ascending
// ID order.
func scanFixture(e *env) (revoked, live []string, want []revoke.Record) {
	e.T.Helper()
	// Rotated grants put records under other grants' keys (bolt, sqlite).
	for i := range 6 {
		g := e.NewGrant("c1", 3)
		if i%2 == 0 {
			e.Revoke(g.R[1], "c1", len(g.All()))
			revoked = append(revoked, g.All()...)
		} else {
			live = append(live, g.All()...)
		}
	}
	single := e.Issue(revoke.Access, "c2", "", time.Hour)
	e.Revoke(single, "c2", 1)
	revoked = append(revoked, single)
	live = append(live, e.Issue(revoke.Access, "c2", "", time.Hour))
	for _, tok := range append(append([]string(nil), revoked...), live...) {
		rec, found := e.Record(tok)
		if !found {
			e.T.Fatalf("record of an issued token not found")
		}
		want = append(want, rec)
	}
	slices.SortFunc(want, func(a, b revoke.Record) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return revoked, live, want
}

// checkCopy checks a copy whose highest Seq is high: NextSeq is above it,
// a new Revoker over it reads the revoked and the live tokens as such, and
// a revocation in it gets a Seq above high.
func checkCopy(t *testing.T, dst revoke.Store, high uint64, revoked, live []string) {
	t.Helper()
	ctx := context.Background()
	var next uint64
	if err := dst.Update(ctx, func(tx revoke.Tx) error {
		var err error
		next, err = tx.NextSeq(ctx)
		return err
	}); err != nil {
		t.Fatalf("NextSeq: %v", err)
	}
	if next <= high {
		t.Errorf("after an import of Seqs up to %d, NextSeq = %d: it must be above every stored Seq", high, next)
	}
	c2 := harness.NewClock()
	r2, err := revoke.New(dst, revoke.WithClock(c2.Now))
	if err != nil {
		t.Fatalf("revoke.New over the copy: %v", err)
	}
	defer r2.Close()
	e2 := &env{&harness.Env{T: t, Ctx: ctx, Store: dst, Clock: c2, R: r2}}
	e2.WantRevoked("copy: a revoked token", revoked...)
	e2.WantLive("copy: a live token", live...)
	// A revocation in the copy gets a Seq above the imported ones.
	last := live[len(live)-1]
	if _, err := r2.Revoke(ctx, last, "c2"); err != nil {
		t.Fatalf("Revoke in the copy: %v", err)
	}
	if rec, _ := e2.Record(last); rec.Seq <= high {
		t.Errorf("a revocation after the import has Seq %d, not above the imported %d", rec.Seq, high)
	}
}

// sameRecord compares records field by field, times by instant.
func sameRecord(a, b revoke.Record) bool {
	return a.ID == b.ID && a.Check == b.Check && a.Kind == b.Kind && a.ClientID == b.ClientID &&
		a.Subject == b.Subject && a.Parent == b.Parent && a.Grant == b.Grant &&
		a.ExpiresAt.Equal(b.ExpiresAt) && a.Seq == b.Seq && a.Status == b.Status
}
