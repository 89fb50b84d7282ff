package httpadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// introspectionClients are the clients of the introspection tests: a
// resource server and the client the issuedFixture's tokens belong to.
var introspectionClients = map[string]string{"rs": "rs-secret", "app": "app-secret"}

// newIntrospection returns the introspection handler over rev, with HTTP
// Basic client authentication of introspectionClients.
func newIntrospection(t testing.TB, rev *revoke.Revoker, opts ...httpadapter.Option) http.Handler {
	t.Helper()
	auth := httpadapter.WithClientAuth(httpadapter.BasicAuth(httpadapter.StaticSecrets(introspectionClients)))
	h, err := httpadapter.NewIntrospectionHandler(rev, append([]httpadapter.Option{auth}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// introspectRequest is a form introspection request of token by client
// (HTTP Basic, unless client is ""), with form parameters extra.
func introspectRequest(client, token string, extra ...string) *http.Request {
	form := url.Values{"token": {token}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Add(extra[i], extra[i+1])
	}
	req := httptest.NewRequest(http.MethodPost, "http://example.com"+httpadapter.IntrospectionPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if client != "" {
		req.SetBasicAuth(client, introspectionClients[client])
	}
	return req
}

// serveIntrospection runs req through h and checks what every response of
// the endpoint carries: the JSON and cache headers, a JSON object body, and
// for an error an RFC 6749 error of its status.
func serveIntrospection(t testing.TB, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if err := checkHeaders(rec.Header(), true); err != nil {
		t.Fatalf("introspection response %d: %v; body %s", rec.Code, err, rec.Body)
	}
	if !strings.HasSuffix(rec.Body.String(), "}\n") {
		t.Fatalf("introspection response %d: body %q does not end with a newline", rec.Code, rec.Body)
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if rec.Code != http.StatusOK {
		if err := strictUnmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" || e.Description == "" {
			t.Fatalf("introspection response %d: body %s is not an RFC 6749 error (%v)", rec.Code, rec.Body, err)
		}
	}
	return rec
}

// TestIntrospectionRFC7662Example runs the request of RFC 7662, section
// 2.1 (client s6BhdRkqt3, HTTP Basic) and checks the members of the
// response of section 2.2 that the store knows, then the inactive answer
// of the same section once the token is revoked.
func TestIntrospectionRFC7662Example(t *testing.T) {
	ctx := context.Background()
	iat := time.Unix(1419350238, 0) // the example's iat, and its exp below
	rev, err := revoke.New(memory.New(), revoke.WithClock(func() time.Time { return iat }))
	if err != nil {
		t.Fatal(err)
	}
	defer rev.Close()
	if err := rev.Issue(ctx, revoke.Token{Value: "mF_9.B5f-4.1JqM", Kind: revoke.Access, ClientID: "l238j323ds-23ij4",
		Subject: "Z5O3upPC88QrAjx00dis", ExpiresAt: time.Unix(1419356238, 0)}); err != nil {
		t.Fatal(err)
	}
	auth := httpadapter.BasicAuth(httpadapter.StaticSecrets(map[string]string{"s6BhdRkqt3": "gX1fBat3bV"}))
	h, err := httpadapter.NewIntrospectionHandler(rev, httpadapter.WithClientAuth(auth))
	if err != nil {
		t.Fatal(err)
	}
	request := func() *http.Request {
		req := httptest.NewRequest(http.MethodPost, "https://server.example.com/introspect", strings.NewReader("token=mF_9.B5f-4.1JqM&token_type_hint=access_token"))
		req.Header.Set("Accept", "application/json")
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW")
		return req
	}
	rec := serveIntrospection(t, h, request())
	want := `{"active":true,"client_id":"l238j323ds-23ij4","sub":"Z5O3upPC88QrAjx00dis","exp":1419356238,"token_type":"Bearer","token_use":"access_token"}` + "\n"
	if rec.Code != http.StatusOK || rec.Body.String() != want {
		t.Fatalf("active token: %d %s, want 200 %s", rec.Code, rec.Body, want)
	}
	if _, err := rev.Revoke(ctx, "mF_9.B5f-4.1JqM", "l238j323ds-23ij4"); err != nil {
		t.Fatal(err)
	}
	if rec := serveIntrospection(t, h, request()); rec.Code != http.StatusOK || rec.Body.String() != "{\"active\":false}\n" {
		t.Fatalf("revoked token: %d %s, want 200 {\"active\":false}", rec.Code, rec.Body)
	}
}

// TestIntrospectionStates checks the answer for a token of every state:
// the members of a live one, and exactly {"active":false} for the others.
func TestIntrospectionStates(t *testing.T) {
	ctx := context.Background()
	f := newIssuedFixture(t)
	h := newIntrospection(t, f.rev)
	exp := f.clock.Now().Add(time.Hour)
	if err := f.rev.Issue(ctx, revoke.Token{Value: "spent-refresh", Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	if err := f.rev.Rotate(ctx, "spent-refresh", revoke.Token{Value: "rotated-refresh", Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Minute) // issuedExpiring has expired
	expiry := strconv.FormatInt(exp.Unix(), 10)
	inactive := `{"active":false}`
	for _, tc := range []struct {
		name, token string
		extra       []string // form parameters
		want        string
	}{
		{"live access token", issuedAccess, nil,
			`{"active":true,"client_id":"app","sub":"alice","exp":` + expiry + `,"token_type":"Bearer","token_use":"access_token"}`},
		{"live refresh token", issuedRefresh, nil,
			`{"active":true,"client_id":"app","sub":"alice","exp":` + expiry + `,"token_use":"refresh_token"}`},
		{"a hint is only a hint", issuedAccess, []string{"token_type_hint", "refresh_token"},
			`{"active":true,"client_id":"app","sub":"alice","exp":` + expiry + `,"token_type":"Bearer","token_use":"access_token"}`},
		{"an unknown hint is ignored", "rotated-refresh", []string{"token_type_hint", "id_token"},
			`{"active":true,"client_id":"app","exp":` + expiry + `,"token_use":"refresh_token"}`},
		{"revoked", issuedRevoked, nil, inactive},
		{"spent", "spent-refresh", nil, inactive},
		{"expired", issuedExpiring, nil, inactive},
		{"never issued", "made-up-token", nil, inactive},
		{"longer than any token", strings.Repeat("x", httpadapter.DefaultMaxTokenLength+1), nil, inactive},
	} {
		rec := serveIntrospection(t, h, introspectRequest("rs", tc.token, tc.extra...))
		if rec.Code != http.StatusOK || rec.Body.String() != tc.want+"\n" {
			t.Errorf("%s: %d %s, want 200 %s", tc.name, rec.Code, rec.Body, tc.want)
		}
	}
}

// TestIntrospectionAfterTheGrantIsRevoked checks that an access token is
// inactive once the refresh token it was minted from is revoked.
func TestIntrospectionAfterTheGrantIsRevoked(t *testing.T) {
	f := newIssuedFixture(t)
	h := newIntrospection(t, f.rev)
	if _, err := f.rev.Revoke(context.Background(), issuedRefresh, "app"); err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{issuedAccess, issuedRefresh} {
		if rec := serveIntrospection(t, h, introspectRequest("rs", token)); rec.Body.String() != "{\"active\":false}\n" {
			t.Errorf("%s after its grant was revoked: %s", token, rec.Body)
		}
	}
}

// TestIntrospectionClientAuthentication checks that only authenticated
// clients learn anything, and that a failure to check credentials is no
// verdict on them.
func TestIntrospectionClientAuthentication(t *testing.T) {
	f := newIssuedFixture(t)
	h := newIntrospection(t, f.rev)
	wrongSecret := introspectRequest("", issuedAccess)
	wrongSecret.SetBasicAuth("rs", "not-the-secret")
	unknownClient := introspectRequest("", issuedAccess)
	unknownClient.SetBasicAuth("nobody", "x")
	for name, req := range map[string]*http.Request{
		"no credentials":        introspectRequest("", issuedAccess),
		"client_id alone":       introspectRequest("", issuedAccess, "client_id", "rs"),
		"wrong secret":          wrongSecret,
		"another client_id":     introspectRequest("rs", issuedAccess, "client_id", "app"),
		"client_secret in body": introspectRequest("", issuedAccess, "client_id", "rs", "client_secret", "rs-secret"),
		"unknown client":        unknownClient,
	} {
		rec := serveIntrospection(t, h, req)
		if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != `Basic realm="revocation"` ||
			!strings.Contains(rec.Body.String(), `"error":"invalid_client"`) {
			t.Errorf("%s: %d %q %s, want 401 invalid_client with WWW-Authenticate", name, rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
		}
	}

	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("client database: %w", revoke.ErrUnavailable), http.StatusServiceUnavailable, "temporarily_unavailable"},
		{errors.New("client database corrupt"), http.StatusInternalServerError, "server_error"},
	} {
		failing := func(*http.Request, httpadapter.ClaimedClient) (string, error) { return "", tc.err }
		h, err := httpadapter.NewIntrospectionHandler(f.rev, httpadapter.WithClientAuth(failing))
		if err != nil {
			t.Fatal(err)
		}
		rec := serveIntrospection(t, h, introspectRequest("rs", issuedAccess))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), `"error":"`+tc.code+`"`) {
			t.Errorf("authenticator error %v: %d %s, want %d %s", tc.err, rec.Code, rec.Body, tc.status, tc.code)
		}
	}
}

// TestIntrospectionRequests checks the answers to requests that are not
// introspection requests.
func TestIntrospectionRequests(t *testing.T) {
	f := newIssuedFixture(t)
	h := newIntrospection(t, f.rev, httpadapter.WithMaxBodyBytes(1024))
	form := func(body string) *http.Request {
		req := httptest.NewRequest(http.MethodPost, "http://example.com"+httpadapter.IntrospectionPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("rs", "rs-secret")
		return req
	}
	get := introspectRequest("rs", issuedAccess)
	get.Method = http.MethodGet
	asJSON := form(`{"token":"` + issuedAccess + `"}`)
	asJSON.Header.Set("Content-Type", "application/json")
	for name, tc := range map[string]struct {
		req    *http.Request
		status int
	}{
		"GET":           {get, http.StatusMethodNotAllowed},
		"JSON":          {asJSON, http.StatusUnsupportedMediaType},
		"no token":      {form("token_type_hint=access_token"), http.StatusBadRequest},
		"token twice":   {form("token=a&token=b"), http.StatusBadRequest},
		"malformed":     {form("token=%zz"), http.StatusBadRequest},
		"body too long": {form("token=" + strings.Repeat("x", 2048)), http.StatusRequestEntityTooLarge},
	} {
		rec := serveIntrospection(t, h, tc.req)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), `"error":"invalid_request"`) {
			t.Errorf("%s: %d %s, want %d invalid_request", name, rec.Code, rec.Body, tc.status)
		}
		if tc.status == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != "POST" {
			t.Errorf("%s: Allow %q", name, rec.Header().Get("Allow"))
		}
	}
}

// TestIntrospectionStoreDown checks that a store that cannot answer is a
// 503 with Retry-After (500 for another failure), never {"active":false}.
func TestIntrospectionStoreDown(t *testing.T) {
	f := newIssuedFixture(t)
	h := newIntrospection(t, f.rev, httpadapter.WithRetryAfter(9*time.Second))
	f.store.fail(fmt.Errorf("connection refused: %w", revoke.ErrUnavailable))
	rec := serveIntrospection(t, h, introspectRequest("rs", issuedAccess))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "9" ||
		!strings.Contains(rec.Body.String(), `"error":"temporarily_unavailable"`) {
		t.Errorf("store unavailable: %d Retry-After %q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	f.store.fail(errors.New("page checksum mismatch"))
	if rec := serveIntrospection(t, h, introspectRequest("rs", issuedAccess)); rec.Code != http.StatusInternalServerError {
		t.Errorf("store failure: %d %s, want 500", rec.Code, rec.Body)
	}
	f.store.err.Store(nil)
	_ = f.rev.Close()
	if rec := serveIntrospection(t, h, introspectRequest("rs", issuedAccess)); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("closed Revoker: %d %s, want 503", rec.Code, rec.Body)
	}
}

// TestIntrospectionAccess checks the rule of who may introspect what: any
// authenticated client by default, the token's own client with OwnTokens.
func TestIntrospectionAccess(t *testing.T) {
	f := newIssuedFixture(t)
	open := newIntrospection(t, f.rev)
	own := newIntrospection(t, f.rev, httpadapter.WithIntrospectionAccess(httpadapter.OwnTokens))
	for _, tc := range []struct {
		name   string
		h      http.Handler
		client string
		active bool
	}{
		{"default, the resource server", open, "rs", true},
		{"default, the token's client", open, "app", true},
		{"OwnTokens, the resource server", own, "rs", false},
		{"OwnTokens, the token's client", own, "app", true},
	} {
		rec := serveIntrospection(t, tc.h, introspectRequest(tc.client, issuedAccess))
		var got struct{ Active bool }
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK || got.Active != tc.active {
			t.Errorf("%s: %d %s, want active %v", tc.name, rec.Code, rec.Body, tc.active)
		}
		if !tc.active && rec.Body.String() != "{\"active\":false}\n" {
			t.Errorf("%s: refused with %s, want exactly {\"active\":false}", tc.name, rec.Body)
		}
	}
}

// TestNewIntrospectionHandlerRefuses checks that what would serve token
// metadata unsafely is refused at construction.
func TestNewIntrospectionHandlerRefuses(t *testing.T) {
	f := newIssuedFixture(t)
	auth := httpadapter.WithClientAuth(httpadapter.BasicAuth(httpadapter.StaticSecrets(introspectionClients)))
	cors := httpadapter.WithCORS(httpadapter.CORS{AllowOrigin: httpadapter.AllowOrigins("https://app.example")})
	for name, tc := range map[string]struct {
		rev  *revoke.Revoker
		opts []httpadapter.Option
	}{
		"nil Revoker":               {nil, []httpadapter.Option{auth}},
		"no client authentication":  {f.rev, nil},
		"nil client authentication": {f.rev, []httpadapter.Option{auth, httpadapter.WithClientAuth(nil)}},
		"RequireIssued":             {f.rev, []httpadapter.Option{auth, httpadapter.RequireIssued()}},
		"CORS":                      {f.rev, []httpadapter.Option{auth, cors}},
		"nil access rule":           {f.rev, []httpadapter.Option{auth, httpadapter.WithIntrospectionAccess(nil)}},
	} {
		h, err := httpadapter.NewIntrospectionHandler(tc.rev, tc.opts...)
		if !errors.Is(err, httpadapter.ErrInvalidOption) || h != nil {
			t.Errorf("%s: NewIntrospectionHandler = %v, %v; want an error wrapping ErrInvalidOption", name, h, err)
		}
	}
}

// BenchmarkIntrospection is one introspection of a live token on the
// memory store, request parsing and client authentication included.
func BenchmarkIntrospection(b *testing.B) {
	f := newIssuedFixture(b)
	h := newIntrospection(b, f.rev)
	body := url.Values{"token": {issuedAccess}}.Encode()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "http://example.com"+httpadapter.IntrospectionPath, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("rs", "rs-secret")
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

// TestIntrospectionOneAuthenticationMethod: as at the revocation endpoint,
// a request with more than one Authorization header, or with the header and
// client_secret (two authentication methods, RFC 6749, section 2.3), is
// invalid_request before any ClientAuth sees it, whichever header it would
// read.
func TestIntrospectionOneAuthenticationMethod(t *testing.T) {
	f := newIssuedFixture(t)
	verify := httpadapter.StaticSecrets(introspectionClients)
	// A ClientAuth of the application's own that reads the first header.
	firstHeader := func(r *http.Request, _ httpadapter.ClaimedClient) (string, error) {
		id, secret, ok := r.BasicAuth()
		if okSecret, _ := verify(r.Context(), id, secret); !ok || !okSecret {
			return "", httpadapter.ErrInvalidClient
		}
		return id, nil
	}
	basicAuth := httpadapter.BasicAuth(verify, httpadapter.AllowSecretPost())
	for authName, auth := range map[string]httpadapter.ClientAuth{"own ClientAuth": firstHeader, "BasicAuth": basicAuth} {
		h, err := httpadapter.NewIntrospectionHandler(f.rev, httpadapter.WithClientAuth(auth))
		if err != nil {
			t.Fatal(err)
		}
		twoHeaders := introspectRequest("rs", issuedAccess)
		twoHeaders.Header.Add("Authorization", "Basic bm9ib2R5Ong=")
		headerAndSecret := introspectRequest("rs", issuedAccess, "client_id", "rs", "client_secret", "rs-secret")
		for name, req := range map[string]*http.Request{"two Authorization headers": twoHeaders, "header and client_secret": headerAndSecret} {
			rec := serveIntrospection(t, h, req)
			if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"error":"invalid_request"`) {
				t.Errorf("%s, %s: %d %s, want 400 invalid_request", authName, name, rec.Code, rec.Body)
			}
		}
		// One method: served.
		if rec := serveIntrospection(t, h, introspectRequest("rs", issuedAccess)); rec.Code != http.StatusOK ||
			!strings.Contains(rec.Body.String(), `"active":true`) {
			t.Errorf("%s, one Authorization header: %d %s, want 200 active", authName, rec.Code, rec.Body)
		}
	}
}
