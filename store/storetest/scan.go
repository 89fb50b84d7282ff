package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// testScan: Tx.Scan returns every record once, in ascending ID order, a page
// at a time from a cursor; records Put with their Seq (an import) keep
// NextSeq above them; and a copy made with ScanAll and Put loads, in a new
// Revoker, the same revoked set.
func testScan(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	ctx := e.ctx
	// Rotated grants put records under other grants' keys (bolt, sqlite).
	var revoked, live []string
	for i := range 6 {
		g := e.newGrant("c1", 3)
		if i%2 == 0 {
			e.revoke(g.R[1], "c1", len(g.all()))
			revoked = append(revoked, g.all()...)
		} else {
			live = append(live, g.all()...)
		}
	}
	single := e.issue(revoke.Access, "c2", "", time.Hour)
	e.revoke(single, "c2", 1)
	revoked = append(revoked, single)
	live = append(live, e.issue(revoke.Access, "c2", "", time.Hour))

	var want []revoke.Record
	for _, tok := range append(append([]string(nil), revoked...), live...) {
		rec, found := e.record(tok)
		if !found {
			t.Fatalf("record of an issued token not found")
		}
		want = append(want, rec)
	}
	slices.SortFunc(want, func(a, b revoke.Record) int { return bytes.Compare(a.ID[:], b.ID[:]) })

	scan := func(after revoke.ID, limit int) []revoke.Record {
		t.Helper()
		var got []revoke.Record
		err := e.store.View(ctx, func(tx revoke.Tx) error {
			var err error
			got, err = tx.Scan(ctx, after, limit)
			return err
		})
		if err != nil {
			t.Fatalf("Scan(after %x, limit %d): %v", after[:4], limit, err)
		}
		return got
	}
	equal := func(what string, got, want []revoke.Record) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d records, want %d", what, len(got), len(want))
		}
		for i := range got {
			if !sameRecord(got[i], want[i]) {
				t.Fatalf("%s: record %d is %+v, want %+v", what, i, got[i], want[i])
			}
		}
	}

	equal("Scan(zero, all)", scan(revoke.ID{}, len(want)+10), want)
	equal("Scan(zero, 3)", scan(revoke.ID{}, 3), want[:3])
	equal("Scan(after the 5th, 4)", scan(want[4].ID, 4), want[5:9])
	equal("Scan(after the last)", scan(want[len(want)-1].ID, 10), nil)
	equal("Scan(limit 0)", scan(revoke.ID{}, 0), nil)
	// A cursor between stored IDs: the next record above it.
	between := want[6].ID
	for i := len(between) - 1; i >= 0; i-- { // one above want[6], carried
		between[i]++
		if between[i] != 0 {
			break
		}
	}
	// Below want[7] unless adjacent (and above want[6] unless it was the
	// greatest ID of all).
	if bytes.Compare(between[:], want[6].ID[:]) > 0 && bytes.Compare(between[:], want[7].ID[:]) < 0 {
		equal("Scan(between)", scan(between, 1), want[7:8])
	}
	for _, page := range []int{1, 2, 7} {
		var got []revoke.Record
		after := revoke.ID{}
		for {
			p := scan(after, page)
			got = append(got, p...)
			if len(got) > len(want) {
				t.Fatalf("paged Scan (page %d) returned %d records, more than the %d stored: a cursor repeats records", page, len(got), len(want))
			}
			if len(p) < page {
				break
			}
			after = p[len(p)-1].ID
		}
		equal("paged Scan", got, want)
	}
	var all []revoke.Record
	if err := revoke.ScanAll(ctx, e.store, 5, func(rec revoke.Record) error {
		all = append(all, rec)
		return nil
	}); err != nil {
		t.Fatalf("ScanAll: %v", err)
	}
	equal("ScanAll", all, want)

	// Copy into a fresh store, Seqs kept, as an import does.
	dst := open(t)
	copied := 0
	if err := revoke.ScanAll(ctx, e.store, 4, func(rec revoke.Record) error {
		copied++
		return dst.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) })
	}); err != nil {
		t.Fatalf("copying: %v", err)
	}
	var high uint64
	for _, rec := range want {
		high = max(high, rec.Seq)
	}
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
	c2 := newClock()
	r2, err := revoke.New(dst, revoke.WithClock(c2.Now))
	if err != nil {
		t.Fatalf("revoke.New over the copy: %v", err)
	}
	defer r2.Close()
	for _, tok := range revoked {
		if ok, err := r2.IsRevoked(ctx, tok); err != nil || !ok {
			t.Errorf("copy: a revoked token reads IsRevoked = %v, %v", ok, err)
		}
	}
	for _, tok := range live {
		if ok, err := r2.IsRevoked(ctx, tok); err != nil || ok {
			t.Errorf("copy: a live token reads IsRevoked = %v, %v", ok, err)
		}
	}
	// A revocation in the copy gets a Seq above the imported ones.
	if _, err := r2.Revoke(ctx, live[len(live)-1], "c2"); err != nil {
		t.Fatalf("Revoke in the copy: %v", err)
	}
	var got uint64
	if err := dst.View(ctx, func(tx revoke.Tx) error {
		rec, _, err := getOne(ctx, tx, revoke.TokenID(live[len(live)-1]))
		got = rec.Seq
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got <= high {
		t.Errorf("a revocation after the import has Seq %d, not above the imported %d", got, high)
	}
	if copied != len(want) {
		t.Errorf("ScanAll copied %d records, want %d", copied, len(want))
	}
}

// sameRecord compares records field by field, times by instant.
func sameRecord(a, b revoke.Record) bool {
	return a.ID == b.ID && a.Check == b.Check && a.Kind == b.Kind && a.ClientID == b.ClientID &&
		a.Subject == b.Subject && a.Parent == b.Parent && a.Grant == b.Grant &&
		a.ExpiresAt.Equal(b.ExpiresAt) && a.Seq == b.Seq && a.Status == b.Status
}
