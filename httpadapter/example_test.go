package httpadapter_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
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

	h, err := httpadapter.NewHandler(rev)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	httpadapter.Mount(mux, h)

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
	protect, err := httpadapter.Middleware(rev)
	if err != nil {
		log.Fatal(err)
	}
	protected := protect(api)

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

// A standard OAuth client revokes a refresh token with an RFC 7009 form
// request, authenticating with HTTP Basic.
func ExampleBasicAuth() {
	rev, err := revoke.New(memory.New())
	if err != nil {
		log.Fatal(err)
	}
	defer rev.Close()
	err = rev.Issue(context.Background(), revoke.Token{
		Value: "refresh-123", Kind: revoke.Refresh, ClientID: "my-client",
		ExpiresAt: time.Now().Add(time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	auth := httpadapter.BasicAuth(httpadapter.StaticSecrets(map[string]string{"my-client": "s3cr3t+/="}))
	h, err := httpadapter.NewHandler(rev, httpadapter.WithClientAuth(auth))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	httpadapter.Mount(mux, h)

	for _, secret := range []string{"wrong", "s3cr3t+/="} {
		req := httptest.NewRequest(http.MethodPost, httpadapter.Path,
			strings.NewReader("token=refresh-123&token_type_hint=refresh_token"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// RFC 6749, section 2.3.1: form-urlencode, then Basic.
		req.SetBasicAuth(url.QueryEscape("my-client"), url.QueryEscape(secret))
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		fmt.Printf("%d %q\n", rec.Code, rec.Body)
	}
	revoked, _ := rev.IsRevoked(context.Background(), "refresh-123")
	fmt.Println("revoked:", revoked)
	// Output:
	// 401 "{\"error\":\"invalid_client\",\"error_description\":\"client authentication failed\"}\n"
	// 200 ""
	// revoked: true
}

// A constructor checks every option it is given: one that does not apply
// to it, or a value out of the option's range, is an error, never ignored.
func ExampleOption() {
	rev, err := revoke.New(memory.New())
	if err != nil {
		log.Fatal(err)
	}
	defer rev.Close()

	cors := httpadapter.WithCORS(httpadapter.CORS{AllowOrigin: httpadapter.AllowOrigins("https://app.example")})
	if _, err := httpadapter.NewHandler(rev, cors); err == nil {
		fmt.Println("NewHandler: ok")
	}
	_, err = httpadapter.Middleware(rev, cors)
	fmt.Println(err)
	_, err = httpadapter.NewHandler(rev, httpadapter.WithRetryAfter(0))
	fmt.Println(errors.Is(err, httpadapter.ErrInvalidOption), err)
	// Output:
	// NewHandler: ok
	// httpadapter: Middleware: WithCORS does not apply to Middleware: httpadapter: invalid option
	// true httpadapter: NewHandler: WithRetryAfter: 0s is not between 1s and 1h: httpadapter: invalid option
}
