package revoke_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// An authorization server records each token it mints, revokes a refresh
// token when its client asks, and checks IsRevoked on every request.
func Example() {
	ctx := context.Background()
	r, err := revoke.New(memory.New())
	if err != nil {
		panic(err)
	}
	defer r.Close()

	exp := time.Now().Add(time.Hour)
	_ = r.Issue(ctx, revoke.Token{Value: "refresh-1", Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp})
	_ = r.Issue(ctx, revoke.Token{Value: "access-1", Kind: revoke.Access, ClientID: "app", Parent: "refresh-1", ExpiresAt: exp})

	n, err := r.Revoke(ctx, "refresh-1", "app")
	fmt.Println("revoked:", n, err)

	revoked, _ := r.IsRevoked(ctx, "access-1")
	fmt.Println("access-1 revoked:", revoked)
	// Output:
	// revoked: 2 <nil>
	// access-1 revoked: true
}

// Revoking an access token revokes it alone; its refresh token can still
// mint new ones.
func ExampleRevoker_Revoke_accessToken() {
	ctx := context.Background()
	r, _ := revoke.New(memory.New())
	defer r.Close()
	exp := time.Now().Add(time.Hour)
	_ = r.Issue(ctx, revoke.Token{Value: "refresh-1", Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp})
	_ = r.Issue(ctx, revoke.Token{Value: "access-1", Kind: revoke.Access, ClientID: "app", Parent: "refresh-1", ExpiresAt: exp})

	n, _ := r.Revoke(ctx, "access-1", "app")
	refresh, _ := r.IsRevoked(ctx, "refresh-1")
	fmt.Println("revoked:", n, "refresh revoked:", refresh)

	// Another client cannot revoke the token, and an unknown token is not
	// an error.
	_, err := r.Revoke(ctx, "refresh-1", "other-app")
	fmt.Println(errors.Is(err, revoke.ErrClientMismatch))
	n, err = r.Revoke(ctx, "never-issued", "app")
	fmt.Println(n, err)
	// Output:
	// revoked: 1 refresh revoked: false
	// true
	// 0 <nil>
}

// Issue refuses to mint from a revoked refresh token.
func ExampleRevoker_Issue_revokedParent() {
	ctx := context.Background()
	r, _ := revoke.New(memory.New())
	defer r.Close()
	exp := time.Now().Add(time.Hour)
	_ = r.Issue(ctx, revoke.Token{Value: "refresh-1", Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp})
	_, _ = r.Revoke(ctx, "refresh-1", "app")

	err := r.Issue(ctx, revoke.Token{Value: "access-2", Kind: revoke.Access, ClientID: "app", Parent: "refresh-1", ExpiresAt: exp})
	fmt.Println(errors.Is(err, revoke.ErrRevoked))
	// Output:
	// true
}
