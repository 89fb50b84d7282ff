package revoke_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

func TestIndex(t *testing.T) {
	x := revoke.NewIndex()
	now := time.Now()
	for i := range 1000 {
		tok := fmt.Sprint("tok-", i)
		x.Add(revoke.Revocation{ID: revoke.TokenID(tok), Check: revoke.Checksum(tok), ExpiresAt: now.Add(time.Duration(i%2) * 24 * time.Hour)})
	}
	x.Add(revoke.Revocation{ID: revoke.TokenID("tok-1"), Check: revoke.Checksum("tok-1"), ExpiresAt: now}) // again: no new entry
	x.Add(revoke.Revocation{ID: revoke.TokenID("unchecked"), ExpiresAt: now.Add(24 * time.Hour)})
	if n := x.Len(); n != 1001 {
		t.Fatalf("Len = %d, want 1001", n)
	}
	for tok, want := range map[string]bool{"tok-0": true, "tok-999": true, "unchecked": true, "tok-1000": false, "": false} {
		if got := x.Contains(tok); got != want {
			t.Errorf("Contains(%q) = %v, want %v", tok, got, want)
		}
	}
	if n := x.Sweep(now.Add(3 * revoke.ExpiryResolution)); n != 500 {
		t.Errorf("Sweep removed %d, want the 500 expired", n)
	}
	if x.Len() != 501 || x.Contains("tok-0") || !x.Contains("tok-1") {
		t.Errorf("after Sweep: Len %d, tok-0 %v, tok-1 %v", x.Len(), x.Contains("tok-0"), x.Contains("tok-1"))
	}
	for _, tok := range []string{"tok-1", "tok-0", "nope"} {
		if n := testing.AllocsPerRun(100, func() { x.Contains(tok) }); n != 0 {
			t.Errorf("Contains(%q): %v allocs", tok, n)
		}
	}
}

// TestIndexLoader checks that an Index built by an IndexLoader holds what
// was added, once each, with the later expiry of an ID added twice.
func TestIndexLoader(t *testing.T) {
	l := revoke.NewIndexLoader()
	now := time.Now()
	for i := range 3000 {
		l.Add(revoke.Revocation{ID: revoke.TokenID(fmt.Sprint("tok-", i)), ExpiresAt: now.Add(time.Duration(i%2) * 24 * time.Hour)})
	}
	l.Add(revoke.Revocation{ID: revoke.TokenID("tok-0"), ExpiresAt: now.Add(24 * time.Hour)}) // again, later
	x := l.Index()
	if n := x.Len(); n != 3000 {
		t.Fatalf("Len = %d, want 3000", n)
	}
	for tok, want := range map[string]bool{"tok-0": true, "tok-2999": true, "tok-3000": false} {
		if got := x.Contains(tok); got != want {
			t.Errorf("Contains(%q) = %v, want %v", tok, got, want)
		}
	}
	if n := x.Sweep(now.Add(3 * revoke.ExpiryResolution)); n != 1499 {
		t.Errorf("Sweep removed %d, want the 1,499 expired (tok-0's expiry moved on)", n)
	}
	if !x.Contains("tok-0") || x.Contains("tok-2") {
		t.Errorf("after Sweep: tok-0 %v, tok-2 %v", x.Contains("tok-0"), x.Contains("tok-2"))
	}
}

// TestIndexFindsEveryEntry fills an Index one Add at a time, and an
// IndexLoader in bulk, with enough entries that full buckets push some
// entries several buckets past their home, and checks that each finds
// every entry it holds and none it does not.
func TestIndexFindsEveryEntry(t *testing.T) {
	n := atScale(400_000)
	exp := time.Now().Add(time.Hour)
	x, l := revoke.NewIndex(), revoke.NewIndexLoader()
	for i := range n {
		rev := revoke.Revocation{ID: revoke.TokenID(fmt.Sprint("in-", i)), ExpiresAt: exp}
		x.Add(rev)
		l.Add(rev)
	}
	loaded := l.Index()
	for _, idx := range []struct {
		name string
		x    *revoke.Index
	}{{"added", x}, {"loaded", loaded}} {
		missed, extra := 0, 0
		for i := range n {
			if !idx.x.Contains(fmt.Sprint("in-", i)) {
				missed++
			}
			if idx.x.Contains(fmt.Sprint("out-", i)) {
				extra++
			}
		}
		if missed != 0 || extra != 0 {
			t.Errorf("%s: %d of %d entries not found, %d tokens never added found", idx.name, missed, n, extra)
		}
	}
}

// TestIndexMissReadsOneBucket checks that a lookup of a token the index
// does not hold reads its home bucket alone unless the home's spill
// summary names it: at the fill of a table grown one Add at a time, over a
// third of the homes have entries past them, but fewer than 1 miss in 50
// reads a second bucket. go test -run IndexMissReadsOneBucket -v ./revoke
// prints the counts.
func TestIndexMissReadsOneBucket(t *testing.T) {
	n := atScale(400_000)
	past, spilled, buckets := revoke.ProbeStats(n)
	t.Logf("%d entries in %d buckets (%.0f%% of slots): %d homes (%.1f%%) have entries past them; %d of %d misses (%.2f%%) read more than their home",
		n, buckets, float64(n)*100/float64(buckets*5), spilled, float64(spilled)*100/float64(buckets), past, n, float64(past)*100/float64(n))
	if past*50 >= n {
		t.Errorf("%d of %d misses read more than their home bucket: the spill summary does not stop them", past, n)
	}
}
