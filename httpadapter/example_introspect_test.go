package httpadapter_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// A resource server, client "api" of the authorization server, asks about
// the tokens presented to it.
func ExampleNewIntrospectionHandler() {
	rev, err := revoke.New(memory.New())
	if err != nil {
		log.Fatal(err)
	}
	defer rev.Close()
	exp := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	err = rev.Issue(context.Background(), revoke.Token{
		Value: "access-123", Kind: revoke.Access, ClientID: "my-client", Subject: "alice", ExpiresAt: exp,
	})
	if err != nil {
		log.Fatal(err)
	}

	auth := httpadapter.BasicAuth(httpadapter.StaticSecrets(map[string]string{"api": "api-secret"}))
	h, err := httpadapter.NewIntrospectionHandler(rev, httpadapter.WithClientAuth(auth))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(httpadapter.IntrospectionPath, h)

	for _, token := range []string{"access-123", "made-up"} {
		req := httptest.NewRequest(http.MethodPost, httpadapter.IntrospectionPath, strings.NewReader("token="+token))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("api", "api-secret")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Print(rec.Code, " ", rec.Body)
	}
	// Output:
	// 200 {"active":true,"client_id":"my-client","sub":"alice","exp":4070908800,"token_type":"Bearer","token_use":"access_token"}
	// 200 {"active":false}
}

// With RequireIssued, the middleware turns away a token that was never
// issued, which IsRevoked alone reports not revoked.
func ExampleRequireIssued() {
	rev, err := revoke.New(memory.New())
	if err != nil {
		log.Fatal(err)
	}
	defer rev.Close()
	err = rev.Issue(context.Background(), revoke.Token{
		Value: "access-123", Kind: revoke.Access, ClientID: "my-client", ExpiresAt: time.Now().Add(time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	protect, err := httpadapter.Middleware(rev, httpadapter.RequireIssued())
	if err != nil {
		log.Fatal(err)
	}
	protected := protect(api)

	for _, token := range []string{"access-123", "made-up"} {
		req := httptest.NewRequest(http.MethodGet, "/api/", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		protected.ServeHTTP(rec, req)
		fmt.Print(rec.Code, " ", rec.Body)
	}
	// Output:
	// 200 hello
	// 401 {"message":"token is not a valid access token"}
}
