package postgres_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// Two replicas of an authorization server share one database: a token
// revoked through one is refused by the other, which learns of it from the
// change feed.
func Example() {
	ctx := context.Background()
	dsn := os.Getenv("REVOKE_POSTGRES_DSN")
	prefix := examplePrefix() // by default, "revoke_"
	defer dropExampleTables(prefix)

	open := func() *revoke.Revoker {
		store, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
		if err != nil {
			panic(err)
		}
		r, err := revoke.New(store)
		if err != nil {
			panic(err)
		}
		return r
	}
	a, b := open(), open()
	defer a.Close()
	defer b.Close()

	exp := time.Now().Add(time.Hour)
	_ = a.Issue(ctx, revoke.Token{Value: "refresh-1", Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp})
	_ = a.Issue(ctx, revoke.Token{Value: "access-1", Kind: revoke.Access, ClientID: "app", Parent: "refresh-1", ExpiresAt: exp})

	n, err := a.Revoke(ctx, "refresh-1", "app")
	fmt.Println("revoked through A:", n, err)

	// B's feed brings the revocation within milliseconds.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if ok, _ := b.IsRevoked(ctx, "access-1"); ok {
			break
		}
	}
	revoked, err := b.IsRevoked(ctx, "access-1")
	fmt.Println("refused by B:", revoked, err)
	fmt.Println("B lags less than a second:", b.Lag() < time.Second)
	// Output:
	// revoked through A: 2 <nil>
	// refused by B: true <nil>
	// B lags less than a second: true
}

// examplePrefix returns a table prefix of the example's own.
func examplePrefix() string { return "ex" + token()[:8] + "_" }

func dropExampleTables(prefix string) {
	if err := dropTables(prefix); err != nil {
		panic(err)
	}
}
