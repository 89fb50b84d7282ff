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

func ExampleNewGlobalRevocationHandler() {
	ctx := context.Background()
	rev, err := revoke.New(memory.New())
	if err != nil {
		log.Fatal(err)
	}
	defer rev.Close()
	// alice signed in on two clients.
	for _, client := range []string{"web", "mobile"} {
		err := rev.Issue(ctx, revoke.Token{
			Value: "refresh-" + client, Kind: revoke.Refresh, ClientID: client, Subject: "alice",
			ExpiresAt: time.Now().Add(time.Hour),
		})
		if err != nil {
			log.Fatal(err)
		}
	}

	// The security tool calls with a credential issued for this endpoint.
	checkToolToken := func(_ context.Context, bearer string, _ httpadapter.SubjectID) error {
		if bearer != "tool-credential" {
			return httpadapter.ErrCallerUnauthenticated
		}
		return nil
	}
	h, err := httpadapter.NewGlobalRevocationHandler(rev,
		httpadapter.WithGlobalAuth(checkToolToken),
		httpadapter.WithGlobalIssuer("https://as.example"))
	if err != nil {
		log.Fatal(err)
	}

	for _, bearer := range []string{"stolen", "tool-credential"} {
		req := httptest.NewRequest(http.MethodPost, httpadapter.GlobalRevocationPath, strings.NewReader(
			`{"sub_id": {"format": "iss_sub", "iss": "https://as.example", "sub": "alice"}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+bearer)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Body.Len() == 0 {
			fmt.Println(rec.Code)
		} else {
			fmt.Print(rec.Code, " ", rec.Body) // JSON bodies end with a newline
		}
	}
	for _, client := range []string{"web", "mobile"} {
		revoked, err := rev.IsRevoked(ctx, "refresh-"+client)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(client, "revoked:", revoked)
	}
	// Output:
	// 401 {"message":"the bearer token is not valid"}
	// 204
	// web revoked: true
	// mobile revoked: true
}
