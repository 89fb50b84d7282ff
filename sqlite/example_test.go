//go:build cgo

package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/sqlite"
)

// Open a store in a file, issue a refresh token and an access token minted
// from it, revoke the refresh token: the revocation cascades to the access
// token.
func Example() {
	dir, err := os.MkdirTemp("", "revocation-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := sqlite.Open(filepath.Join(dir, "revocations.db"))
	if err != nil {
		log.Fatal(err)
	}
	r, err := revoke.New(store) // r.Close closes the store
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	ctx := context.Background()
	now := time.Now()
	err = r.Issue(ctx, revoke.Token{Value: "refresh-1", Kind: revoke.Refresh,
		ClientID: "client-1", Subject: "alice", ExpiresAt: now.Add(24 * time.Hour)})
	if err != nil {
		log.Fatal(err)
	}
	err = r.Issue(ctx, revoke.Token{Value: "access-1", Kind: revoke.Access,
		ClientID: "client-1", Subject: "alice", Parent: "refresh-1", ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		log.Fatal(err)
	}

	n, err := r.Revoke(ctx, "refresh-1", "client-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("tokens revoked:", n)

	revoked, err := r.IsRevoked(ctx, "access-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("access token revoked:", revoked)
	// Output:
	// tokens revoked: 2
	// access token revoked: true
}
