package revoke_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// Lookup tells a token that was issued from one that was made up, which
// IsRevoked cannot: both are "not revoked" to it.
func ExampleRevoker_Lookup() {
	ctx := context.Background()
	r, err := revoke.New(memory.New())
	if err != nil {
		panic(err)
	}
	defer r.Close()
	exp := time.Now().Add(time.Hour)
	_ = r.Issue(ctx, revoke.Token{Value: "refresh-1", Kind: revoke.Refresh, ClientID: "app", Subject: "alice", ExpiresAt: exp})
	_ = r.Issue(ctx, revoke.Token{Value: "access-1", Kind: revoke.Access, ClientID: "app", Parent: "refresh-1", ExpiresAt: exp})

	for _, token := range []string{"access-1", "made-up"} {
		info, err := r.Lookup(ctx, token)
		if err != nil {
			panic(err)
		}
		revoked, _ := r.IsRevoked(ctx, token)
		if info.State == revoke.StateNotIssued {
			fmt.Printf("%s: %s (IsRevoked: %v)\n", token, info.State, revoked)
			continue
		}
		fmt.Printf("%s: %s %s token of %q for %q (IsRevoked: %v)\n", token, info.State, info.Kind, info.ClientID, info.Subject, revoked)
	}

	_, _ = r.Revoke(ctx, "refresh-1", "app") // the grant, access-1 included
	info, _ := r.Lookup(ctx, "access-1")
	fmt.Println("access-1 after its refresh token was revoked:", info.State)
	// Output:
	// access-1: live access token of "app" for "alice" (IsRevoked: false)
	// made-up: not issued (IsRevoked: false)
	// access-1 after its refresh token was revoked: revoked
}
