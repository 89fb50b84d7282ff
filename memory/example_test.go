package memory_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

func ExampleNew() {
	ctx := context.Background()
	r, err := revoke.New(memory.New())
	if err != nil {
		panic(err)
	}
	defer r.Close()
	_ = r.Issue(ctx, revoke.Token{Value: "access-1", Kind: revoke.Access, ClientID: "app", ExpiresAt: time.Now().Add(time.Hour)})
	_, _ = r.Revoke(ctx, "access-1", "app")
	revoked, _ := r.IsRevoked(ctx, "access-1")
	fmt.Println(revoked)
	// Output: true
}
