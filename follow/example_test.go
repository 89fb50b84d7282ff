package follow_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/sdkauth/revocation/follow"
	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// A resource server follows the authorization server's feed and refuses a
// token as soon as the authorization server revokes it.
func Example() {
	ctx := context.Background()

	// The authorization server: a Revoker, and its feed behind a secret.
	rv, err := revoke.New(memory.New())
	if err != nil {
		log.Fatal(err)
	}
	const secret = "feed-secret-0123456789"
	feed, err := httpadapter.NewFeedHandler(rv, httpadapter.WithFeedSecret(secret))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(httpadapter.FeedPath, feed)
	auth := httptest.NewServer(mux)
	defer auth.Close()
	defer rv.Close() // ends the feed's streams before the server closes

	token := "access-token-1"
	if err := rv.Issue(ctx, revoke.Token{Value: token, Kind: revoke.Access, ClientID: "app",
		ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		log.Fatal(err)
	}

	// The resource server: a follower of the feed.
	checker, err := follow.New(ctx, auth.URL+httpadapter.FeedPath, follow.WithBearer(secret))
	if err != nil {
		log.Fatal(err)
	}
	defer checker.Close()
	protect, err := httpadapter.Middleware(checker)
	if err != nil {
		log.Fatal(err)
	}
	api := protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	}))
	call := func() int {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/api/", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		api.ServeHTTP(rec, req)
		return rec.Code
	}
	fmt.Println("before the revocation:", call())

	if _, err := rv.Revoke(ctx, token, "app"); err != nil {
		log.Fatal(err)
	}
	for revoked, _ := checker.IsRevoked(ctx, token); !revoked; revoked, _ = checker.IsRevoked(ctx, token) {
		time.Sleep(time.Millisecond) // the revocation is on its way
	}
	fmt.Println("after the revocation:", call())
	// Output:
	// before the revocation: 200
	// after the revocation: 401
}
