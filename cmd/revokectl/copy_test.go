package main

import (
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// TestUndoes: import and migrate refuse a record that would make a token
// the store holds revoked live again, or a refresh token it holds rotated
// unspent again; every other replacement goes through.
func TestUndoes(t *testing.T) {
	live := revoke.Record{ID: revoke.TokenID("t"), Kind: revoke.Refresh, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)}
	revoked, rotated, superseded := live, live, live
	revoked.Seq = 7
	rotated.Successor, rotated.RotatedAt = revoke.TokenID("next"), time.Now()
	superseded.Superseded = true
	for _, c := range []struct {
		name        string
		stored, rec revoke.Record
		want        bool
	}{
		{"revoked, record live", revoked, live, true},
		{"revoked, record rotated", revoked, rotated, true},
		{"rotated, record live", rotated, live, true},
		{"superseded, record live", superseded, live, true},
		{"live, record revoked", live, revoked, false},
		{"live, record rotated", live, rotated, false},
		{"rotated, record revoked", rotated, revoked, false},
		{"rotated, record rotated", rotated, rotated, false},
		{"revoked, record revoked", revoked, revoked, false},
		{"live, record live", live, live, false},
	} {
		if got := undoes(c.stored, c.rec); got != c.want {
			t.Errorf("%s: undoes = %v, want %v", c.name, got, c.want)
		}
	}
}
