package mysql_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// TestReplicas runs two replicas, two Stores with their own pools over the
// same tables, each with a Revoker polling every 50ms, that issue and
// revoke grants at the same time: every revocation, through either, is
// refused by both within a few sync intervals, and the tokens left alone
// are not.
func TestReplicas(t *testing.T) {
	t.Parallel()
	prefix := freshPrefix(t)
	sync50 := revoke.WithFollow(revoke.FollowPolicy{Interval: 50 * time.Millisecond})
	replicas := []*revoke.Revoker{newRevoker(t, open(t, prefix), sync50), newRevoker(t, open(t, prefix), sync50)}
	const grants = 40
	tok := func(r, g int, kind string) string { return fmt.Sprintf("%s-%d-%d-%s", kind, r, g, prefix) }
	var wg sync.WaitGroup
	for ri, r := range replicas {
		for g := range grants {
			wg.Go(func() { issueGrant(t, r, tok(ri, g, "rt"), tok(ri, g, "at"), g%2 == 0) })
		}
	}
	wg.Wait()
	deadline := time.Now().Add(2 * time.Second)
	for _, r := range replicas {
		for ri := range replicas {
			for g := range grants {
				waitRevoked(t, r, tok(ri, g, "at"), g%2 == 0, deadline)
			}
		}
	}
}

// issueGrant issues the refresh token rt and the access token at under it,
// through r, then revokes the grant if revoke is set.
func issueGrant(t *testing.T, r *revoke.Revoker, rt, at string, revokeIt bool) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	if err := r.Issue(ctx, revoke.Token{Value: rt, Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp}); err != nil {
		t.Error(err)
		return
	}
	if err := r.Issue(ctx, revoke.Token{Value: at, Kind: revoke.Access, ClientID: "app", Parent: rt, ExpiresAt: exp}); err != nil {
		t.Error(err)
		return
	}
	if revokeIt {
		if n, err := r.Revoke(ctx, rt, "app"); err != nil || n != 2 {
			t.Errorf("Revoke of %s: %d, %v; want 2 tokens", rt, n, err)
		}
	}
}

// waitRevoked waits until r's IsRevoked of tok is want, failing the test
// at deadline; a token to stay live must be live at once.
func waitRevoked(t *testing.T, r *revoke.Revoker, tok string, want bool, deadline time.Time) {
	for {
		got, err := r.IsRevoked(context.Background(), tok)
		if err != nil {
			t.Fatal(err)
		}
		if got == want {
			return
		}
		if !want || time.Now().After(deadline) {
			t.Fatalf("IsRevoked(%s) = %v, want %v", tok, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
