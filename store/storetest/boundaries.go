package storetest

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// testBoundaries checks the edges the Tx contract states: Expired reports
// records strictly before its cutoff, to the nanosecond; a limit bounds
// what Expired, Grants and Scan report, and a limit <= 0 reports none; the
// resume point after of Grants and Scan is exclusive.
func testBoundaries(t *testing.T, open func(*testing.T) revoke.Store) {
	s := open(t)
	defer s.Close()
	ctx := context.Background()
	cut := time.Date(2031, 3, 4, 5, 6, 7, 123456789, time.UTC)
	var recs []revoke.Record
	for i, at := range []time.Time{cut.Add(-time.Nanosecond), cut, cut.Add(time.Nanosecond), cut.Add(time.Hour)} {
		id := revoke.TokenID("boundary-" + string(rune('a'+i)))
		recs = append(recs, revoke.Record{ID: id, Kind: revoke.Refresh, ClientID: "c1", Subject: "alice", Grant: id, ExpiresAt: at})
	}
	err := s.Update(ctx, func(tx revoke.Tx) error {
		for _, rec := range recs {
			if err := tx.Put(ctx, []revoke.Record{rec}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	err = s.View(ctx, func(tx revoke.Tx) error {
		checkExpiredCutoff(t, tx, cut, recs)
		checkExpiredLimits(t, tx, cut.Add(2*time.Hour), len(recs))
		checkGrantsBounds(t, tx, recs)
		checkScanBounds(t, tx, recs)
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
}

// checkExpiredCutoff: of records expiring 1 ns before, at, and after cut,
// Expired(cut) reports the first alone.
func checkExpiredCutoff(t *testing.T, tx revoke.Tx, cut time.Time, recs []revoke.Record) {
	t.Helper()
	got := expired(t, tx, cut, 100)
	for _, rec := range recs {
		reported := slices.Contains(got, rec.ID)
		switch d := rec.ExpiresAt.Sub(cut); {
		case d == 0 && reported:
			t.Errorf("Tx.Expired: a record whose ExpiresAt equals the cutoff was reported; the contract says strictly before")
		case d > 0 && reported:
			t.Errorf("Tx.Expired: a record whose ExpiresAt is %v after the cutoff was reported; the contract says strictly before", d)
		case d < 0 && !reported:
			t.Errorf("Tx.Expired: a record whose ExpiresAt is %v before the cutoff was not reported (times count to the nanosecond)", -d)
		}
	}
}

// checkExpiredLimits: Expired reports at most limit of the n records
// expired by cutoff, and none for a limit <= 0.
func checkExpiredLimits(t *testing.T, tx revoke.Tx, cutoff time.Time, n int) {
	t.Helper()
	for _, limit := range []int{-1, 0, 1, n - 1, n, n + 1} {
		if got, want := len(expired(t, tx, cutoff, limit)), max(0, min(limit, n)); got != want {
			t.Errorf("Tx.Expired with limit %d reported %d of %d expired records, want %d: at most limit, and none for a limit <= 0", limit, got, n, want)
		}
	}
}

// checkGrantsBounds: Grants reports at most limit grants, none for a limit
// <= 0, and resumes strictly after its after.
func checkGrantsBounds(t *testing.T, tx revoke.Tx, recs []revoke.Record) {
	t.Helper()
	ctx := context.Background()
	want := ids(recs) // each record is a grant of its own
	list := func(after revoke.ID, limit int) []revoke.ID {
		got, err := tx.GrantsOf(ctx, revoke.BySubject, "alice", after, limit)
		if err != nil {
			t.Fatalf("Tx.GrantsOf: %v", err)
		}
		return got
	}
	for _, limit := range []int{-1, 0} {
		if got := list(revoke.ID{}, limit); len(got) != 0 {
			t.Errorf("Tx.Grants with limit %d reported %d grants; the contract says limit <= 0 reports none", limit, len(got))
		}
	}
	if got := list(revoke.ID{}, 2); !slices.Equal(got, want[:2]) {
		t.Errorf("Tx.Grants with limit 2 reported %d grants, want the lowest 2 in ascending order", len(got))
	}
	for i, after := range want {
		if got := list(after, 100); !slices.Equal(got, want[i+1:]) {
			t.Errorf("Tx.Grants after the grant ID %d of %d reported %d grants, want the %d above it: after is exclusive", i+1, len(want), len(got), len(want)-i-1)
		}
	}
}

// checkScanBounds: Scan reports none for a limit <= 0 and resumes strictly
// after its after.
func checkScanBounds(t *testing.T, tx revoke.Tx, recs []revoke.Record) {
	t.Helper()
	ctx := context.Background()
	want := ids(recs)
	list := func(after revoke.ID, limit int) []revoke.ID {
		recs, err := tx.Scan(ctx, after, limit)
		if err != nil {
			t.Fatalf("Tx.Scan: %v", err)
		}
		got := make([]revoke.ID, 0, len(recs))
		for _, rec := range recs {
			got = append(got, rec.ID)
		}
		return got
	}
	for _, limit := range []int{-1, 0} {
		if got := list(revoke.ID{}, limit); len(got) != 0 {
			t.Errorf("Tx.Scan with limit %d reported %d records; the contract says limit <= 0 reports none", limit, len(got))
		}
	}
	for i, after := range want {
		if got := list(after, 100); !slices.Equal(got, want[i+1:]) {
			t.Errorf("Tx.Scan after the ID of record %d of %d reported %d records, want the %d above it: after is exclusive", i+1, len(want), len(got), len(want)-i-1)
		}
	}
}

// expired returns the IDs Expired(cutoff, limit) reports.
func expired(t *testing.T, tx revoke.Tx, cutoff time.Time, limit int) []revoke.ID {
	t.Helper()
	got, err := tx.Expired(context.Background(), cutoff, limit)
	if err != nil {
		t.Fatalf("Tx.Expired(limit %d): %v", limit, err)
	}
	return got
}

// ids returns the IDs of recs in ascending order.
func ids(recs []revoke.Record) []revoke.ID {
	out := make([]revoke.ID, 0, len(recs))
	for _, rec := range recs {
		out = append(out, rec.ID)
	}
	slices.SortFunc(out, func(a, b revoke.ID) int { return bytes.Compare(a[:], b[:]) })
	return out
}
