package httpadapter_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/revoke"
)

// Client credentials with the characters RFC 6749, section 2.3.1's
// form-urlencoding is for: a colon, a plus, a space, a percent sign, a
// slash, an ampersand and non-ASCII.
const (
	oddClient = "svc:client a+1"
	oddSecret = "p@ss:w/rd+ &%25é=="
	oddToken  = "odd-refresh-0123456789"
)

var oddSecrets = map[string]string{oddClient: oddSecret, "client-a": "secret-a", "client-b": "secret-b"}

// standardClientRequest builds a revocation request the way
// golang.org/x/oauth2 builds its token endpoint requests under
// AuthStyleInHeader (internal.newTokenRequest): the form body from
// url.Values.Encode, Content-Type application/x-www-form-urlencoded, and
// SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret)).
// AppAuth and oidc-client-ts encode the same way.
func standardClientRequest(clientID, clientSecret string, v url.Values) *http.Request {
	req, err := http.NewRequest(http.MethodPost, "http://example.com"+httpadapter.Path, strings.NewReader(v.Encode()))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret))
	return req
}

func TestBasicAuthStandardClient(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	exp := f.clock.Now().Add(time.Hour)
	if err := f.rev.Issue(ctx, revoke.Token{Value: oddToken, Kind: revoke.Refresh, ClientID: oddClient, ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	h := newHandler(t, f.rev, httpadapter.WithClientAuth(httpadapter.BasicAuth(httpadapter.StaticSecrets(oddSecrets))))

	// Credentials encoded without the form-urlencoding first: "+" reads as
	// a space, so the secret is wrong.
	req := newRequest(http.MethodPost, formCT, url.Values{"token": {oddToken}}.Encode())
	req.SetBasicAuth(oddClient, oddSecret)
	if rec := serve(t, h, req); rec.Code != http.StatusUnauthorized {
		t.Fatalf("raw credentials: status %d, want 401", rec.Code)
	}
	// A wrong secret.
	if rec := serve(t, h, standardClientRequest(oddClient, oddSecret+"x", url.Values{"token": {oddToken}})); rec.Code != http.StatusUnauthorized {
		t.Fatalf("wrong secret: status %d, want 401", rec.Code)
	}
	if revoked(t, f, oddToken) {
		t.Fatal("revoked by a refused request")
	}
	rec := serve(t, h, standardClientRequest(oddClient, oddSecret, url.Values{"token": {oddToken}, "token_type_hint": {"refresh_token"}}))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Fatalf("standard client: status %d, body %q; want 200, empty", rec.Code, rec.Body)
	}
	if !revoked(t, f, oddToken) {
		t.Fatal("not revoked")
	}
}

func revoked(t *testing.T, f *fixture, tok string) bool { t.Helper(); return f.revoked(t, tok) }

func TestBasicAuthRequester(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev, httpadapter.WithClientAuth(httpadapter.BasicAuth(httpadapter.StaticSecrets(oddSecrets))))
	form := func(v url.Values, id, secret string) *http.Request {
		return standardClientRequest(id, secret, v)
	}
	// Authenticated as client-b, the form names client-a: refused.
	rec := serve(t, h, form(url.Values{"token": {accessA1}, "client_id": {"client-a"}}, "client-b", "secret-b"))
	if rec.Code != http.StatusUnauthorized || oauthError(t, rec) != "invalid_client" {
		t.Fatalf("form naming another client: %d %s, want 401 invalid_client", rec.Code, rec.Body)
	}
	// Authenticated as client-b, client-a's token: unauthorized_client.
	rec = serve(t, h, form(url.Values{"token": {accessA1}}, "client-b", "secret-b"))
	if rec.Code != http.StatusBadRequest || oauthError(t, rec) != "unauthorized_client" {
		t.Fatalf("another client's token: %d %s, want 400 unauthorized_client", rec.Code, rec.Body)
	}
	// The same in the JSON dialect: the body names client-b, the token is
	// client-a's: 403; the body names client-a under client-b's
	// credentials: 401.
	req := newRequest(http.MethodPost, "application/json", jsonBody(accessA1, "client-b"))
	req.SetBasicAuth("client-b", "secret-b")
	if rec := serve(t, h, req); rec.Code != http.StatusForbidden {
		t.Fatalf("JSON, another client's token: %d, want 403", rec.Code)
	}
	req = newRequest(http.MethodPost, "application/json", jsonBody(accessA1, "client-a"))
	req.SetBasicAuth("client-b", "secret-b")
	if rec := serve(t, h, req); rec.Code != http.StatusUnauthorized {
		t.Fatalf("JSON, body naming another client: %d, want 401", rec.Code)
	}
	if f.revoked(t, accessA1) {
		t.Fatal("a refused request revoked the token")
	}
	// Its own token, client_id given or not.
	for _, v := range []url.Values{{"token": {accessA1}}, {"token": {accessA2}, "client_id": {"client-a"}}} {
		if rec := serve(t, h, form(v, "client-a", "secret-a")); rec.Code != http.StatusOK {
			t.Fatalf("own token: %d %s, want 200", rec.Code, rec.Body)
		}
	}
	if !f.revoked(t, accessA1) || !f.revoked(t, accessA2) {
		t.Fatal("own tokens not revoked")
	}
	req = newRequest(http.MethodPost, "application/json", jsonBody(accessA3, "client-a"))
	req.SetBasicAuth("client-a", "secret-a")
	if rec := serve(t, h, req); rec.Code != http.StatusOK || !f.revoked(t, accessA3) {
		t.Fatalf("JSON with Basic: %d, want 200 and revoked", rec.Code)
	}
}

func TestBasicAuthMethods(t *testing.T) {
	f := newFixture(t)
	verify := httpadapter.StaticSecrets(oddSecrets)
	isPublic := func(_ context.Context, id string) (bool, error) { return id == "spa", nil }
	strict := newHandler(t, f.rev, httpadapter.WithClientAuth(httpadapter.BasicAuth(verify)))
	lenient := newHandler(t, f.rev, httpadapter.WithClientAuth(
		httpadapter.BasicAuth(verify, httpadapter.AllowPublicClients(isPublic), httpadapter.AllowSecretPost(), nil)))
	for _, tc := range []struct {
		name          string
		form          url.Values
		auth          string // Authorization header
		strict, loose int
	}{
		{"no credentials", url.Values{"token": {"x"}}, "", 401, 401},
		{"public client", url.Values{"token": {"x"}, "client_id": {"spa"}}, "", 401, 200},
		{"confidential client without credentials", url.Values{"token": {"x"}, "client_id": {"client-a"}}, "", 401, 401},
		{"client_secret_post", url.Values{"token": {"x"}, "client_id": {"client-a"}, "client_secret": {"secret-a"}}, "", 401, 200},
		{"client_secret_post, wrong secret", url.Values{"token": {"x"}, "client_id": {"client-a"}, "client_secret": {"nope"}}, "", 401, 401},
		{"client_secret without client_id", url.Values{"token": {"x"}, "client_secret": {"secret-a"}}, "", 401, 401},
		// Two methods in one request (RFC 6749, section 2.3): invalid_request.
		{"Basic and client_secret", url.Values{"token": {"x"}, "client_secret": {"secret-a"}}, basic("client-a", "secret-a"), 400, 400},
		{"Basic and client_secret_post, both right", url.Values{"token": {"x"}, "client_id": {"client-a"}, "client_secret": {"secret-a"}}, basic("client-a", "secret-a"), 400, 400},
		{"Bearer instead of Basic", url.Values{"token": {"x"}, "client_id": {"spa"}}, "Bearer abc", 401, 401},
		{"malformed Basic", url.Values{"token": {"x"}}, "Basic !!!", 401, 401},
		{"Basic with a bad escape", url.Values{"token": {"x"}}, basicRaw("client%zz", "secret-a"), 401, 401},
		{"Basic", url.Values{"token": {"x"}}, basic("client-a", "secret-a"), 200, 200},
		{"Basic with an empty secret, public client", url.Values{"token": {"x"}}, basic("spa", ""), 401, 200},
		{"Basic with an empty secret, confidential client", url.Values{"token": {"x"}}, basic("client-a", ""), 401, 401},
	} {
		for _, hc := range []struct {
			h    http.Handler
			want int
		}{{strict, tc.strict}, {lenient, tc.loose}} {
			req := newRequest(http.MethodPost, formCT, tc.form.Encode())
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			if rec := serve(t, hc.h, req); rec.Code != hc.want {
				t.Errorf("%s: status %d, want %d; body %s", tc.name, rec.Code, hc.want, rec.Body)
			}
		}
	}
}

// TestDuplicateAuthorization: a request with two Authorization headers is
// invalid_request in both dialects, whichever of them carries the right
// credentials, and revokes nothing; BasicAuth on its own refuses it too.
func TestDuplicateAuthorization(t *testing.T) {
	f := newFixture(t)
	secrets := map[string]string{"client-a": "s3cr3t", "other": "pw"}
	auth := httpadapter.BasicAuth(httpadapter.StaticSecrets(secrets), httpadapter.AllowSecretPost())
	authed := newHandler(t, f.rev, httpadapter.WithClientAuth(auth))
	open := newHandler(t, f.rev)
	for _, order := range [][]string{
		{basic("client-a", "s3cr3t"), basic("other", "pw")},
		{basic("other", "pw"), basic("client-a", "s3cr3t")},
		{basic("client-a", "s3cr3t"), basic("client-a", "s3cr3t")},
	} {
		for _, h := range []http.Handler{authed, open} {
			req := newRequest(http.MethodPost, formCT, url.Values{"token": {accessA1}, "client_id": {"client-a"}}.Encode())
			req.Header["Authorization"] = order
			rec := serve(t, h, req)
			if rec.Code != http.StatusBadRequest || oauthError(t, rec) != "invalid_request" {
				t.Errorf("form, %q: %d %s, want 400 invalid_request", order, rec.Code, rec.Body)
			}
			req = newRequest(http.MethodPost, "application/json", jsonBody(accessA1, "client-a"))
			req.Header["Authorization"] = order
			rec = serve(t, h, req)
			if got := violations(t, rec); rec.Code != http.StatusBadRequest || !slices.Equal(got, []string{"Authorization: must appear only once"}) {
				t.Errorf("JSON, %q: %d %q, want 400 Authorization: must appear only once", order, rec.Code, got)
			}
		}
		req := newRequest(http.MethodPost, formCT, "")
		req.Header["Authorization"] = order
		if _, err := auth(req, httpadapter.ClaimedClient{}); !errors.Is(err, httpadapter.ErrInvalidClient) {
			t.Errorf("BasicAuth, %q: err %v, want ErrInvalidClient", order, err)
		}
	}
	// JSON violations of the body and of the header are listed together.
	req := newRequest(http.MethodPost, "application/json", `{"token":""}`)
	req.Header["Authorization"] = []string{basic("client-a", "s3cr3t"), "Bearer x"}
	want := []string{"token: must not be empty", "clientId: required field missing", "Authorization: must appear only once"}
	if got := violations(t, serve(t, authed, req)); !slices.Equal(got, want) {
		t.Errorf("violations %q, want %q", got, want)
	}
	if f.revoked(t, accessA1) {
		t.Fatal("a request with two Authorization headers revoked the token")
	}
	// One header: served.
	req = standardClientRequest("client-a", "s3cr3t", url.Values{"token": {accessA1}})
	if rec := serve(t, authed, req); rec.Code != http.StatusOK || !f.revoked(t, accessA1) {
		t.Fatalf("one Authorization header: %d, want 200 and revoked", rec.Code)
	}
}

// TestSecretPostStandardClient: client_secret_post as golang.org/x/oauth2
// sends it under AuthStyleInParams (and AuthStyleAutoDetect's second try),
// zitadel/oidc and openid-client: client_id and client_secret in the form
// body, form-urlencoded by url.Values.Encode, no Authorization header.
func TestSecretPostStandardClient(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	exp := f.clock.Now().Add(time.Hour)
	if err := f.rev.Issue(ctx, revoke.Token{Value: oddToken, Kind: revoke.Refresh, ClientID: oddClient, ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	verify := httpadapter.StaticSecrets(oddSecrets)
	basicOnly := newHandler(t, f.rev, httpadapter.WithClientAuth(httpadapter.BasicAuth(verify)))
	h := newHandler(t, f.rev, httpadapter.WithClientAuth(httpadapter.BasicAuth(verify, httpadapter.AllowSecretPost())))
	form := url.Values{"token": {oddToken}, "token_type_hint": {"refresh_token"}, "client_id": {oddClient}, "client_secret": {oddSecret}}
	if rec := postForm(t, basicOnly, form); rec.Code != http.StatusUnauthorized || oauthError(t, rec) != "invalid_client" {
		t.Fatalf("without AllowSecretPost: %d %s, want 401 invalid_client", rec.Code, rec.Body)
	}
	wrong := url.Values{"token": {oddToken}, "client_id": {oddClient}, "client_secret": {oddSecret + "x"}}
	if rec := postForm(t, h, wrong); rec.Code != http.StatusUnauthorized || oauthError(t, rec) != "invalid_client" {
		t.Fatalf("wrong secret: %d %s, want 401 invalid_client", rec.Code, rec.Body)
	}
	if f.revoked(t, oddToken) {
		t.Fatal("revoked by a refused request")
	}
	if rec := postForm(t, h, form); rec.Code != http.StatusOK || !f.revoked(t, oddToken) {
		t.Fatalf("client_secret_post: %d %s, want 200 and revoked", rec.Code, rec.Body)
	}
}

func basic(id, secret string) string { return basicRaw(url.QueryEscape(id), url.QueryEscape(secret)) }

func basicRaw(id, secret string) string {
	r, _ := http.NewRequest(http.MethodPost, "/", nil)
	r.SetBasicAuth(id, secret)
	return r.Header.Get("Authorization")
}

// TestClientAuthErrors: an authenticator that cannot check the credentials
// answers 500 or 503, never 401, and revokes nothing.
func TestClientAuthErrors(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name   string
		err    error
		status int
	}{
		{"database down", fmt.Errorf("clients: %w", revoke.ErrUnavailable), 503},
		{"deadline", context.DeadlineExceeded, 503},
		{"other", errors.New("clients: corrupt row"), 500},
	} {
		verify := func(context.Context, string, string) (bool, error) { return false, tc.err }
		isPublic := func(context.Context, string) (bool, error) { return false, tc.err }
		h := newHandler(t, f.rev, httpadapter.WithClientAuth(httpadapter.BasicAuth(verify, httpadapter.AllowPublicClients(isPublic))))
		for _, req := range []*http.Request{
			standardClientRequest("client-a", "secret-a", url.Values{"token": {accessA1}}),
			newRequest(http.MethodPost, formCT, url.Values{"token": {accessA1}, "client_id": {"client-a"}}.Encode()),
		} {
			if rec := serve(t, h, req); rec.Code != tc.status {
				t.Errorf("%s: status %d, want %d", tc.name, rec.Code, tc.status)
			}
		}
		req := newRequest(http.MethodPost, "application/json", jsonBody(accessA1, "client-a"))
		req.SetBasicAuth("client-a", "secret-a")
		if rec := serve(t, h, req); rec.Code != tc.status {
			t.Errorf("%s, JSON: status %d, want %d", tc.name, rec.Code, tc.status)
		}
	}
	// An authenticator that returns no client and no error is a bug: 500.
	h := newHandler(t, f.rev, httpadapter.WithClientAuth(func(*http.Request, httpadapter.ClaimedClient) (string, error) {
		return "", nil
	}))
	if rec := postForm(t, h, url.Values{"token": {accessA1}, "client_id": {"client-a"}}); rec.Code != http.StatusInternalServerError {
		t.Errorf("empty client: status %d, want 500", rec.Code)
	}
	if f.revoked(t, accessA1) {
		t.Fatal("revoked although the client could not be authenticated")
	}
}

// TestClientAuthSeesClaim: a custom authenticator (mTLS, say) gets what the
// body claims, and its answer is the requester.
func TestClientAuthSeesClaim(t *testing.T) {
	f := newFixture(t)
	var got httpadapter.ClaimedClient
	h := newHandler(t, f.rev, httpadapter.WithClientAuth(func(r *http.Request, c httpadapter.ClaimedClient) (string, error) {
		got = c
		if r.Header.Get("X-Test-Cert") != "client-a" {
			return "", httpadapter.ErrInvalidClient
		}
		return "client-a", nil
	}))
	req := newRequest(http.MethodPost, formCT, url.Values{"token": {accessA1}, "client_id": {"client-a"}, "client_secret": {"s"}}.Encode())
	req.Header.Set("X-Test-Cert", "client-a")
	if rec := serve(t, h, req); rec.Code != http.StatusOK || got != (httpadapter.ClaimedClient{ID: "client-a", Secret: "s"}) {
		t.Fatalf("status %d, claim %+v", rec.Code, got)
	}
	if rec := postForm(t, h, url.Values{"token": {accessA2}}); rec.Code != http.StatusUnauthorized {
		t.Fatalf("without the certificate: %d, want 401", rec.Code)
	}
}

func TestStaticSecrets(t *testing.T) {
	v := httpadapter.StaticSecrets(map[string]string{"a": "s1", "b": ""})
	for _, tc := range []struct {
		id, secret string
		want       bool
	}{{"a", "s1", true}, {"a", "s2", false}, {"a", "", false}, {"c", "s1", false}, {"c", "", false}, {"b", "", true}} {
		if ok, err := v(context.Background(), tc.id, tc.secret); ok != tc.want || err != nil {
			t.Errorf("(%q, %q) = %v, %v; want %v", tc.id, tc.secret, ok, err, tc.want)
		}
	}
	for _, fn := range []func(){
		func() { httpadapter.BasicAuth(nil) },
		func() { httpadapter.AllowPublicClients(nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic on nil")
				}
			}()
			fn()
		}()
	}
}
