package bolt_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/revoke"
)

func Example() {
	dir, err := os.MkdirTemp("", "revocation")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := bolt.Open(filepath.Join(dir, "revocation.db"))
	if err != nil {
		log.Fatal(err)
	}
	r, err := revoke.New(s)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close() // closes the store and its file

	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	refresh := revoke.Token{Value: "refresh-token-1", Kind: revoke.Refresh, ClientID: "app", Subject: "alice", ExpiresAt: exp}
	access := revoke.Token{Value: "access-token-1", Kind: revoke.Access, ClientID: "app", Subject: "alice", Parent: refresh.Value, ExpiresAt: exp}
	for _, t := range []revoke.Token{refresh, access} {
		if err := r.Issue(ctx, t); err != nil {
			log.Fatal(err)
		}
	}

	// Revoking the refresh token revokes its grant: the access token too.
	n, err := r.Revoke(ctx, refresh.Value, "app")
	if err != nil {
		log.Fatal(err)
	}
	revoked, err := r.IsRevoked(ctx, access.Value)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("revoked tokens:", n)
	fmt.Println("access token revoked:", revoked)
	// Output:
	// revoked tokens: 2
	// access token revoked: true
}
