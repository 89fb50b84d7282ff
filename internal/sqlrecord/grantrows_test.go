package sqlrecord

import (
	"testing"

	"github.com/sdkauth/revocation/revoke"
)

func TestGrantRows(t *testing.T) {
	var r GrantRows
	a, b, c := revoke.TokenID("a"), revoke.TokenID("b"), revoke.TokenID("c")
	if r.Holds(a) {
		t.Error("an empty GrantRows holds an ID")
	}
	r.Add(c)
	r.Add(a) // in any order
	if !r.Holds(a) || !r.Holds(c) || r.Holds(b) {
		t.Errorf("Holds(a, c, b) = %v, %v, %v; want true, true, false", r.Holds(a), r.Holds(c), r.Holds(b))
	}
	r.Add(b) // after a Holds
	if !r.Holds(b) {
		t.Error("an ID added after Holds is not held")
	}
	r.Reset()
	if r.Holds(a) || r.Holds(b) {
		t.Error("Reset left IDs")
	}
}
