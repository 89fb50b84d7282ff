package revoke_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// TestUncheckedRecordsAreFound checks that a revoked record whose Check is 0
// (an import that cannot vouch for the checksum) is found by IsRevoked, at
// New and by the follower, and leaves the index when it expires.
func TestUncheckedRecordsAreFound(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	s := memory.New()
	put := func(tok string, seq uint64) {
		t.Helper()
		id := revoke.TokenID(tok)
		rec := revoke.Record{ID: id, Kind: revoke.Access, ClientID: "c1", Grant: id,
			ExpiresAt: now.Add(time.Hour).UTC(), Seq: seq}
		if err := revoke.ValidRecord(rec); err != nil {
			t.Fatalf("ValidRecord: %v", err)
		}
		if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) }); err != nil {
			t.Fatal(err)
		}
	}
	put("imported-1", 7)
	r2, err := revoke.New(memoryCopy(t, s), revoke.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	for tok, want := range map[string]bool{"imported-1": true, "never-issued": false} {
		if got, err := r2.IsRevoked(ctx, tok); err != nil || got != want {
			t.Errorf("IsRevoked(%q) = %v, %v; want %v", tok, got, err, want)
		}
	}
	if n := r2.Stats().IndexEntries; n != 1 {
		t.Errorf("IndexEntries = %d, want 1", n)
	}
	now = now.Add(4 * time.Hour)
	if _, err := r2.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	if n := r2.Stats().IndexEntries; n != 0 {
		t.Errorf("IndexEntries after the entry expired and was purged = %d, want 0", n)
	}
	if got, _ := r2.IsRevoked(ctx, "imported-1"); got {
		t.Error("IsRevoked of a purged unchecked entry = true")
	}
}

// memoryCopy returns a new memory store holding s's records.
func memoryCopy(t *testing.T, s *memory.Store) *memory.Store {
	t.Helper()
	ctx := context.Background()
	dst := memory.New()
	err := revoke.ScanAll(ctx, s, 100, func(rec revoke.Record) error {
		return dst.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) })
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestValidRecord checks the rules an imported record is held to.
func TestValidRecord(t *testing.T) {
	id := revoke.TokenID("t")
	good := revoke.Record{ID: id, Check: revoke.Checksum("t"), Kind: revoke.Refresh, ClientID: "c1",
		Subject: "alice", Grant: id, ExpiresAt: time.Now().Add(time.Hour)}
	if err := revoke.ValidRecord(good); err != nil {
		t.Fatalf("ValidRecord(good) = %v", err)
	}
	for _, c := range []struct {
		field string
		edit  func(*revoke.Record)
	}{
		{"ID", func(r *revoke.Record) { r.ID = revoke.ID{} }},
		{"Kind", func(r *revoke.Record) { r.Kind = 9 }},
		{"ClientID", func(r *revoke.Record) { r.ClientID = "" }},
		{"ClientID", func(r *revoke.Record) { r.ClientID = "a\x00b" }},
		{"Subject", func(r *revoke.Record) { r.Subject = "\xe9" }},
		{"Grant", func(r *revoke.Record) { r.Grant = revoke.TokenID("other") }},
		{"Grant", func(r *revoke.Record) { r.Parent = revoke.TokenID("p") }},
		{"ExpiresAt", func(r *revoke.Record) { r.ExpiresAt = time.Time{} }},
		{"ExpiresAt", func(r *revoke.Record) { r.ExpiresAt = time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"Seq", func(r *revoke.Record) { r.Seq = revoke.MaxSeq + 1 }},
		{"Seq", func(r *revoke.Record) { r.Seq = 1<<64 - 1 }},
		{"RotatedAt", func(r *revoke.Record) { r.Successor = revoke.TokenID("s") }},
		{"Successor", func(r *revoke.Record) {
			r.Kind, r.Successor, r.RotatedAt = revoke.Access, revoke.TokenID("s"), time.Now()
		}},
	} {
		rec := good
		c.edit(&rec)
		var fe *revoke.FieldError
		if err := revoke.ValidRecord(rec); !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("ValidRecord with a bad %s = %v, want a *FieldError for it", c.field, err)
		}
	}
}
