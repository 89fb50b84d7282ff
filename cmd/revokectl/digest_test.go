package main

import (
	"crypto/sha256"
	"math"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// TestDigestCoversEveryField: migrate's verification tells apart two
// records that differ in any one field, and two orders of the same records.
func TestDigestCoversEveryField(t *testing.T) {
	base := revoke.Record{
		ID: revoke.TokenID("a"), Check: 1, Kind: revoke.Refresh, ClientID: "c", Subject: "s",
		Parent: revoke.TokenID("p"), Grant: revoke.TokenID("g"),
		ExpiresAt: time.Unix(1700000000, 5).UTC(), Seq: 7, Status: revoke.StatusRef{List: 3, Index: 4},
	}
	sum := func(recs ...revoke.Record) string {
		d := digest{h: sha256.New()}
		for _, r := range recs {
			d.add(r)
		}
		return d.sum()
	}
	want := sum(base)
	changes := map[string]func(*revoke.Record){
		"ID":        func(r *revoke.Record) { r.ID = revoke.TokenID("b") },
		"Check":     func(r *revoke.Record) { r.Check++ },
		"Kind":      func(r *revoke.Record) { r.Kind = revoke.Access },
		"ClientID":  func(r *revoke.Record) { r.ClientID = "d" },
		"Subject":   func(r *revoke.Record) { r.Subject = "" },
		"Parent":    func(r *revoke.Record) { r.Parent = revoke.ID{} },
		"Grant":     func(r *revoke.Record) { r.Grant = r.ID },
		"ExpiresAt": func(r *revoke.Record) { r.ExpiresAt = r.ExpiresAt.Add(time.Nanosecond) },
		"Seq":       func(r *revoke.Record) { r.Seq = 0 },
		"Status":    func(r *revoke.Record) { r.Status = revoke.StatusRef{List: 1} },
		// The list and the index each count.
		"Status.List":  func(r *revoke.Record) { r.Status.List = math.MaxUint64 },
		"Status.Index": func(r *revoke.Record) { r.Status.Index++ },
		// Field boundaries: the same bytes split differently.
		"ClientID|Subject": func(r *revoke.Record) { r.ClientID, r.Subject = "cs", "" },
	}
	for name, change := range changes {
		r := base
		change(&r)
		if sum(r) == want {
			t.Errorf("a change of %s leaves the digest as it was", name)
		}
		if sameRecord(r, base) {
			t.Errorf("sameRecord misses a change of %s", name)
		}
	}
	other := base
	other.ID = revoke.TokenID("b")
	if sum(base, other) == sum(other, base) {
		t.Error("the digest ignores the order of records")
	}
}
