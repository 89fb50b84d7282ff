package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/jwtkey"
	"github.com/sdkauth/revocation/revoke"
)

// TestJWT: following an auth server that identifies JWTs by issuer and jti
// (its -jwt: revoke.WithTokenKey(jwtkey.KeyOrOpaque)), the resource server
// with -jwt refuses a revoked JWT in every spelling, as the auth server
// does, and still lets a live opaque token through.
func TestJWT(t *testing.T) {
	a := newAuthServerWith(t, []revoke.Option{revoke.WithTokenKey(jwtkey.KeyOrOpaque)}, httpadapter.WithFeedSecret(testSecret))
	api, _, _ := startResource(t, "-jwt", "-feed-secret", testSecret, "-auth-server", a.srv.URL)

	enc := base64.RawURLEncoding.EncodeToString
	jwt := enc([]byte(`{"alg":"ES256"}`)) + "." + enc([]byte(`{"iss":"https://as.example","jti":"j-1"}`)) + ".c2lnbmF0dXJl"
	respelled := strings.TrimSuffix(jwt, "l") + "m" // another signature: the same token by issuer and jti
	a.revokeNew(t, jwt)
	ctx := context.Background()
	if err := a.rv.Issue(ctx, revoke.Token{Value: "opaque-live", Kind: revoke.Access, ClientID: "app", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if ok, err := a.rv.IsRevoked(ctx, respelled); !ok || err != nil {
		t.Fatalf("the auth server: IsRevoked of the respelled JWT = %v, %v", ok, err)
	}
	waitFor(t, "the follower holding the revocation", func() bool { return healthOf(t, api).Entries >= 1 })
	for tok, want := range map[string]int{jwt: http.StatusUnauthorized, respelled: http.StatusUnauthorized, "opaque-live": http.StatusOK} {
		req, err := http.NewRequest("GET", api+"/api/hello", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /api/hello with %q: %d, want %d", tok, resp.StatusCode, want)
		}
	}
}
