package jwtkey_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/sdkauth/revocation/jwtkey"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// A server that issues JWT access tokens revokes them by issuer and jti, so
// that another spelling of the same token (here, the signature altered: the
// key never reads it) is revoked too. The server's JWT library must still
// verify every token.
func Example() {
	ctx := context.Background()
	r, err := revoke.New(memory.New(), revoke.WithTokenKey(jwtkey.KeyOrOpaque))
	if err != nil {
		panic(err)
	}
	defer r.Close()

	enc := base64.RawURLEncoding.EncodeToString
	token := enc([]byte(`{"alg":"ES256"}`)) + "." +
		enc([]byte(`{"iss":"https://as.example","jti":"42","exp":1900000000}`)) + ".c2lnbmF0dXJl"
	respelled := token[:len(token)-1] + "f"

	exp := time.Now().Add(time.Hour)
	if err := r.Issue(ctx, revoke.Token{Value: token, Kind: revoke.Access, ClientID: "app", ExpiresAt: exp}); err != nil {
		panic(err)
	}
	n, err := r.Revoke(ctx, respelled, "app")
	fmt.Println("revoked:", n, err)
	revoked, err := r.IsRevoked(ctx, token)
	fmt.Println("original revoked:", revoked, err)

	// A JWT never recorded, deny-listed by its claims.
	_, err = r.RevokeUntracked(ctx, jwtkey.For("https://as.example", "43"), "app", exp)
	fmt.Println("deny-listed:", err)
	// Output:
	// revoked: 1 <nil>
	// original revoked: true <nil>
	// deny-listed: <nil>
}
