package mysql_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sdkauth/revocation/mysql"
	"github.com/sdkauth/revocation/revoke"
)

// Two replicas of an authorization server share one database: a token
// revoked through one is refused by the other after its next poll. (Like
// every test of the package, it runs only when REVOKE_MYSQL_DSN is set.)
func Example() {
	ctx := context.Background()
	dsn := os.Getenv("REVOKE_MYSQL_DSN")
	prefix := "ex" + strings.ToLower(rand.Text()[:8]) + "_" // by default, "revoke_"
	defer dropTables(prefix)

	replica := func() *revoke.Revoker {
		store, err := mysql.Open(ctx, dsn, mysql.WithTablePrefix(prefix))
		if err != nil {
			panic(err)
		}
		r, err := revoke.New(store, revoke.WithFollow(revoke.FollowPolicy{Interval: 100 * time.Millisecond}))
		if err != nil {
			panic(err)
		}
		return r
	}
	a, b := replica(), replica()
	defer a.Close()
	defer b.Close()

	exp := time.Now().Add(time.Hour)
	_ = a.Issue(ctx, revoke.Token{Value: "refresh-1", Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp})
	_ = a.Issue(ctx, revoke.Token{Value: "access-1", Kind: revoke.Access, ClientID: "app", Parent: "refresh-1", ExpiresAt: exp})

	n, err := a.Revoke(ctx, "refresh-1", "app")
	fmt.Println("revoked through A:", n, err)

	// B polls every 100ms.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if ok, _ := b.IsRevoked(ctx, "access-1"); ok {
			break
		}
	}
	revoked, err := b.IsRevoked(ctx, "access-1")
	fmt.Println("refused by B:", revoked, err)
	// Output:
	// revoked through A: 2 <nil>
	// refused by B: true <nil>
}
