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

func ExampleNewHandler() {
	rev, err := revoke.New(memory.New())
	if err != nil {
		log.Fatal(err)
	}
	defer rev.Close()
	// The authorization server records the tokens it hands out.
	err = rev.Issue(context.Background(), revoke.Token{
		Value: "refresh-123", Kind: revoke.Refresh, ClientID: "my-client",
		ExpiresAt: time.Now().Add(time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	httpadapter.Mount(mux, httpadapter.NewHandler(rev))

	for _, body := range []string{
		`{"token":"refresh-123","clientId":"other-client"}`,
		`{"token":"refresh-123","clientId":"my-client"}`,
		`{"token":"refresh-123","clientId":"my-client"}`,
		`{"token":""}`,
	} {
		req := httptest.NewRequest(http.MethodPost, httpadapter.Path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Print(rec.Code, " ", rec.Body) // JSON bodies end with a newline
	}
	// Output:
	// 403 {"message":"token was issued to another client"}
	// 200 {}
	// 200 {}
	// 400 {"violations":[{"field":"token","description":"must not be empty"},{"field":"clientId","description":"required field missing"}]}
}

func ExampleMiddleware() {
	rev, err := revoke.New(memory.New())
	if err != nil {
		log.Fatal(err)
	}
	defer rev.Close()
	ctx := context.Background()
	_ = rev.Issue(ctx, revoke.Token{Value: "access-1", Kind: revoke.Access, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)})
	_ = rev.Issue(ctx, revoke.Token{Value: "access-2", Kind: revoke.Access, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)})
	_, _ = rev.Revoke(ctx, "access-2", "c")

	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "hello")
	})
	protected := httpadapter.Middleware(rev)(api)

	for _, token := range []string{"access-1", "access-2"} {
		req := httptest.NewRequest(http.MethodGet, "/api", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		protected.ServeHTTP(rec, req)
		fmt.Println(token, rec.Code, strings.TrimSpace(rec.Body.String()))
		if rec.Code == http.StatusUnauthorized {
			fmt.Println(rec.Header().Get("WWW-Authenticate"))
		}
	}
	// Output:
	// access-1 200 hello
	// access-2 401 {"message":"token has been revoked"}
	// Bearer error="invalid_token", error_description="The access token has been revoked"
}
