package revoke_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// ScanAll reads every record of a store in ID order, a page per read
// transaction; Put keeps each record's revocation sequence number, so a copy
// made this way loads the same revoked set.
func ExampleScanAll() {
	ctx := context.Background()
	src := memory.New()
	r, err := revoke.New(src)
	if err != nil {
		panic(err)
	}
	exp := time.Now().Add(time.Hour)
	for _, tok := range []string{"t1", "t2", "t3"} {
		if err := r.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Access, ClientID: "app", ExpiresAt: exp}); err != nil {
			panic(err)
		}
	}
	if _, err := r.Revoke(ctx, "t2", "app"); err != nil {
		panic(err)
	}

	dst := memory.New()
	copied := 0
	err = revoke.ScanAll(ctx, src, 100, func(rec revoke.Record) error {
		copied++
		return dst.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) })
	})
	if err != nil {
		panic(err)
	}
	r2, err := revoke.New(dst)
	if err != nil {
		panic(err)
	}
	defer r2.Close()
	for _, tok := range []string{"t1", "t2", "t3"} {
		revoked, _ := r2.IsRevoked(ctx, tok)
		fmt.Println(tok, revoked)
	}
	fmt.Println("copied", copied)
	// Output:
	// t1 false
	// t2 true
	// t3 false
	// copied 3
}
