package revoke_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// A server whose tokens are "<id>.<signature>" identifies them by id, so a
// token presented with another signature is the same token. A token without
// the separator is not of the server's form: IsRevoked refuses it.
func ExampleWithTokenKey() {
	ctx := context.Background()
	key := func(token string) (string, bool) {
		id, _, ok := strings.Cut(token, ".")
		return id, ok
	}
	r, err := revoke.New(memory.New(), revoke.WithTokenKey(key))
	if err != nil {
		panic(err)
	}
	defer r.Close()
	exp := time.Now().Add(time.Hour)
	_ = r.Issue(ctx, revoke.Token{Value: "t1.sig-A", Kind: revoke.Access, ClientID: "app", ExpiresAt: exp})
	_, _ = r.Revoke(ctx, "t1.sig-A", "app")

	revoked, err := r.IsRevoked(ctx, "t1.sig-B")
	fmt.Println(revoked, err)
	revoked, err = r.IsRevoked(ctx, "no-separator")
	fmt.Println(revoked, err)

	// A token never issued, deny-listed by its key.
	n, err := r.RevokeUntracked(ctx, "t2", "app", exp)
	fmt.Println(n, err)
	revoked, _ = r.IsRevoked(ctx, "t2.any")
	fmt.Println(revoked)
	// Output:
	// true <nil>
	// true revoke: invalid token: token is not of a form the token key function accepts
	// 1 <nil>
	// true
}
