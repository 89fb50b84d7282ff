package revoke_test

import (
	"context"
	"testing"
	"time"

	"github.com/sdkauth/revocation/internal/harness"
	"github.com/sdkauth/revocation/revoke"
)

// testRevokeUntracked: a key never issued is deny-listed durably (a new
// Revoker over the same store reports it), blocks a later Issue of that
// token, and is purged after its expiry like any record; a key that was
// issued is revoked as Revoke would (a refresh token with its grant).
func testRevokeUntracked(t *testing.T, open func(*testing.T) revoke.Store) {
	s := open(t)
	c := harness.NewClock()
	r1, err := revoke.New(harness.KeepOpen{Store: s}, revoke.WithClock(c.Now), revoke.WithFollow(revoke.FollowPolicy{Interval: 0}), revoke.WithPurge(revoke.PurgePolicy{Grace: 0, Batch: revoke.DefaultPurgeBatch}))
	if err != nil {
		t.Fatalf("revoke.New: %v", err)
	}
	e := &env{&harness.Env{T: t, Ctx: context.Background(), Store: s, Clock: c, R: r1}}

	jwt := harness.Token()
	n, err := r1.RevokeUntracked(e.Ctx, jwt, "c1", c.Now().Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("RevokeUntracked of a key never issued = (%d, %v), want (1, nil)", n, err)
	}
	e.WantRevoked("untracked key", jwt)
	if n, err := r1.RevokeUntracked(e.Ctx, jwt, "c1", c.Now().Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("RevokeUntracked again = (%d, %v), want (0, nil)", n, err)
	}
	if err := r1.Issue(e.Ctx, revoke.Token{Value: jwt, Kind: revoke.Access, ClientID: "c1", ExpiresAt: c.Now().Add(time.Hour)}); err == nil {
		t.Fatal("Issue of a deny-listed token succeeded")
	}
	g := e.NewGrant("c1", 2)
	if n, err := r1.RevokeUntracked(e.Ctx, g.R[1], "c1", c.Now().Add(time.Hour)); err != nil || n != 4 {
		t.Fatalf("RevokeUntracked of an issued refresh token = (%d, %v), want its grant (4, nil)", n, err)
	}
	e.WantRevoked("grant revoked through RevokeUntracked", g.All()...)

	// Durable: a new Revoker over the store loads it.
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}
	r2, err := revoke.New(s, revoke.WithClock(c.Now), revoke.WithPurge(revoke.PurgePolicy{Grace: 0, Batch: revoke.DefaultPurgeBatch}))
	if err != nil {
		t.Fatalf("revoke.New: %v", err)
	}
	t.Cleanup(func() { _ = r2.Close() })
	e.R = r2
	e.WantRevoked("untracked key after reopening", jwt)

	// Purged after expiry, like any record.
	c.Advance(25 * time.Hour)
	if _, err := r2.Purge(e.Ctx); err != nil {
		t.Fatal(err)
	}
	if _, found := e.Record(jwt); found {
		t.Error("the untracked entry was not purged after its expiry")
	}
	e.WantLive("untracked key after its purge", jwt)
}
