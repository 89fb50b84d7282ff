package revoke_test

import (
	"context"
	"errors"
	"github.com/sdkauth/revocation/memory"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

func TestRevokeUntracked(t *testing.T) {
	ctx := context.Background()
	r, c := newKeyed(t, revoke.WithTokenKey(hashKey))
	exp := c.now.Add(time.Hour)

	// A token never issued is deny-listed by its key.
	n, err := r.RevokeUntracked(ctx, "J", "app", exp)
	if err != nil || n != 1 {
		t.Fatalf("RevokeUntracked = %d, %v; want 1, nil", n, err)
	}
	for _, tok := range []string{"J#sig", "J#other"} {
		if !isRevoked(t, r, tok) {
			t.Errorf("%q not revoked", tok)
		}
	}
	if isRevoked(t, r, "K#sig") {
		t.Error("another key revoked")
	}
	if n, err := r.RevokeUntracked(ctx, "J", "app", exp); n != 0 || err != nil {
		t.Errorf("again: %d, %v; want 0, nil", n, err)
	}
	// Its client revoking it again is answered as for any revoked token;
	// another client is refused.
	if n, err := r.Revoke(ctx, "J#x", "app"); n != 0 || err != nil {
		t.Errorf("Revoke by its client = %d, %v; want 0, nil", n, err)
	}
	if _, err := r.Revoke(ctx, "J#x", "other"); !errors.Is(err, revoke.ErrClientMismatch) {
		t.Errorf("Revoke by another client: %v, want ErrClientMismatch", err)
	}
	// Issuing it afterwards is refused.
	err = r.Issue(ctx, revoke.Token{Value: "J#sig", Kind: revoke.Access, ClientID: "app", ExpiresAt: exp})
	if !errors.Is(err, revoke.ErrRevoked) {
		t.Errorf("Issue of a deny-listed key: %v, want ErrRevoked", err)
	}

	// A live issued refresh token is revoked with its grant.
	if err := r.Issue(ctx, revoke.Token{Value: "R#1", Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	if err := r.Issue(ctx, revoke.Token{Value: "A#1", Kind: revoke.Access, ClientID: "app", Parent: "R#1", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	if n, err := r.RevokeUntracked(ctx, "R", "whoever", exp); n != 2 || err != nil {
		t.Fatalf("RevokeUntracked of an issued refresh token = %d, %v; want 2, nil", n, err)
	}
	if !isRevoked(t, r, "A#2") {
		t.Error("the grant's access token is not revoked")
	}

	// An expiry this clock holds past is recorded all the same: another
	// server's clock may still hold the token valid.
	if n, err := r.RevokeUntracked(ctx, "old", "app", c.now); n != 1 || err != nil {
		t.Errorf("expired by this clock: %d, %v; want 1, nil", n, err)
	}
	if !isRevoked(t, r, "old#") {
		t.Error("a key expired by this clock was not recorded")
	}

	// Purged after its expiry and the grace, like any record.
	c.now = exp.Add(revoke.DefaultPurgeGrace + time.Second)
	if n, err := r.Purge(ctx); err != nil || n != 4 {
		t.Fatalf("Purge = %d, %v; want 4", n, err)
	}
	// The index drops it once its expiry, to the hour, has passed too.
	c.now = exp.Add(revoke.DefaultPurgeGrace + 2*revoke.ExpiryResolution)
	if _, err := r.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	if isRevoked(t, r, "J#sig") {
		t.Error("deny-list entry outlived its purge")
	}
}

func TestRevokeUntrackedValidation(t *testing.T) {
	ctx := context.Background()
	r, c := newKeyed(t)
	exp := c.now.Add(time.Hour)
	long := string(make([]byte, revoke.MaxTokenLength+1))
	longClient := string(make([]byte, revoke.MaxClientIDLength+1))
	for _, tc := range []struct {
		field, key, client string
		exp                time.Time
	}{
		{"key", "", "app", exp},
		{"key", long, "app", exp},
		{"clientID", "k", "", exp},
		{"clientID", "k", longClient, exp},
		{"expiresAt", "k", "app", time.Time{}},
		{"expiresAt", "k", "app", time.Unix(1<<40, 0)},
		// Before 1678: no durable store can keep it.
		{"expiresAt", "k", "app", time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		_, err := r.RevokeUntracked(ctx, tc.key, tc.client, tc.exp)
		if fe := (*revoke.FieldError)(nil); !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%s: %v, want a FieldError of %s", tc.field, err, tc.field)
		}
	}
	_ = r.Close()
	if _, err := r.RevokeUntracked(ctx, "k", "app", exp); !errors.Is(err, revoke.ErrClosed) {
		t.Errorf("after Close: %v, want ErrClosed", err)
	}
}

// keptStore is a memory store whose data outlives a Revoker's Close, as a
// durable store's does across a restart.
type keptStore struct{ *memory.Store }

func (keptStore) Close() error { return nil }

// TestRevokeUntrackedDurable revokes, closes the Revoker, opens a new one
// over the same data, and finds the entry in the new Revoker's index.
func TestRevokeUntrackedDurable(t *testing.T) {
	ctx := context.Background()
	kept := keptStore{memory.New()}
	open := func() *revoke.Revoker {
		r, err := revoke.New(kept, revoke.WithTokenKey(hashKey))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := open()
	if n, err := r.RevokeUntracked(ctx, "J", "app", time.Now().Add(time.Hour)); n != 1 || err != nil {
		t.Fatalf("RevokeUntracked = %d, %v", n, err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = open()
	defer r.Close()
	if !isRevoked(t, r, "J#after-restart") {
		t.Fatal("deny-list entry lost across a restart")
	}
}
