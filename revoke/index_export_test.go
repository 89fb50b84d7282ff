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
