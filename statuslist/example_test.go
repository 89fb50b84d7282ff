package statuslist_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/statuslist"
)

// An authorization server gives each access token an entry, which the token
// carries as its status claim and Issue stores; once the token is revoked,
// its entry reads 1 in the list served at the claim's uri.
func Example() {
	ctx := context.Background()
	rev, err := revoke.New(memory.New())
	if err != nil {
		log.Fatal(err)
	}
	defer rev.Close()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	lists, err := statuslist.New(ctx, rev, "https://as.example/statuslists", statuslist.Key{Signer: key, ID: "k1"})
	if err != nil {
		log.Fatal(err)
	}
	defer lists.Close()
	mux := http.NewServeMux()
	mux.Handle(lists.Path(), lists)

	// Minting a token: an entry for its status claim, stored by Issue.
	e, err := lists.Allocate()
	if err != nil {
		log.Fatal(err)
	}
	claim, _ := json.Marshal(e.Claim())
	fmt.Println(strings.Replace(string(claim), e.URI, "<uri>", 1))
	err = rev.Issue(ctx, revoke.Token{Value: "access-1", Kind: revoke.Access, ClientID: "app",
		ExpiresAt: time.Now().Add(time.Hour), Status: e.Ref})
	if err != nil {
		log.Fatal(err)
	}

	// What a relying party reads at the uri (its signature checked with the
	// server's key, omitted here).
	entry := func() uint8 {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", e.URI, nil))
		payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(rec.Body.String(), ".")[1])
		var claims struct {
			StatusList struct{ Lst string } `json:"status_list"`
		}
		_ = json.Unmarshal(payload, &claims)
		list, err := statuslist.Decode(claims.StatusList.Lst)
		if err != nil {
			log.Fatal(err)
		}
		v, _ := list.Status(e.Ref.Index)
		return v
	}
	fmt.Println("before revocation:", entry())

	if _, err := rev.Revoke(ctx, "access-1", "app"); err != nil {
		log.Fatal(err)
	}
	for entry() != 1 { // the Issuer applies the revocation from its goroutine
		time.Sleep(time.Millisecond)
	}
	fmt.Println("after revocation:", entry())
	// Output:
	// {"status_list":{"idx":0,"uri":"<uri>"}}
	// before revocation: 0
	// after revocation: 1
}
