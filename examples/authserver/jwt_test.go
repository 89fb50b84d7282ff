package main

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sdkauth/revocation/httpadapter"
)

// relyingParty checks access tokens as a resource server in any language
// would: with the server's JWKS, an HTTP GET of the token's status list,
// and a JWT library.
type relyingParty struct {
	t    *testing.T
	c    client
	keys jose.JSONWebKeySet
}

func newRelyingParty(t *testing.T, c client) *relyingParty {
	t.Helper()
	r := c.do("GET", JWKSPath, "", "", "")
	if r.status != http.StatusOK {
		t.Fatalf("JWKS: %d %s", r.status, r.body)
	}
	rp := &relyingParty{t: t, c: c}
	if err := json.Unmarshal([]byte(r.body), &rp.keys); err != nil || len(rp.keys.Keys) != 1 {
		t.Fatalf("JWKS %s: %v", r.body, err)
	}
	return rp
}

// claims verifies the access token and returns its claims.
func (rp *relyingParty) claims(token string) accessClaims {
	rp.t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		rp.t.Fatal(err)
	}
	var c accessClaims
	if err := tok.Claims(rp.keys, &c); err != nil {
		rp.t.Fatalf("access token does not verify with the JWKS: %v", err)
	}
	if err := c.Validate(jwt.Expected{Issuer: rp.c.base, Time: time.Now()}); err != nil {
		rp.t.Fatal(err)
	}
	return c
}

// status returns the access token's entry in the list its status claim
// names, fetched and verified.
func (rp *relyingParty) status(token string) byte {
	rp.t.Helper()
	ref := rp.claims(token).Status.StatusList
	if !strings.HasPrefix(ref.URI, rp.c.base+statusListPath+"/") {
		rp.t.Fatalf("status list URI %q", ref.URI)
	}
	req, _ := http.NewRequest("GET", ref.URI, nil)
	req.Header.Set("Accept", "application/statuslist+jwt")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		rp.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/statuslist+jwt" {
		rp.t.Fatalf("GET %s: %d %s", ref.URI, res.StatusCode, body)
	}
	jws, err := jose.ParseSignedCompact(string(body), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		rp.t.Fatal(err)
	}
	if typ := jws.Signatures[0].Header.ExtraHeaders["typ"]; typ != "statuslist+jwt" {
		rp.t.Fatalf("typ %v", typ)
	}
	payload, err := jws.Verify(rp.keys)
	if err != nil {
		rp.t.Fatalf("status list does not verify with the JWKS: %v", err)
	}
	var list struct {
		Sub        string `json:"sub"`
		Exp        int64  `json:"exp"`
		StatusList struct {
			Bits int    `json:"bits"`
			Lst  string `json:"lst"`
		} `json:"status_list"`
	}
	if err := json.Unmarshal(payload, &list); err != nil || list.Sub != ref.URI || list.StatusList.Bits != 1 || list.Exp < time.Now().Unix() {
		rp.t.Fatalf("status list claims %s: %v", payload, err)
	}
	z, err := base64.RawURLEncoding.DecodeString(list.StatusList.Lst)
	if err != nil {
		rp.t.Fatal(err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		rp.t.Fatal(err)
	}
	bits, err := io.ReadAll(zr)
	if err != nil || int(ref.Idx/8) >= len(bits) {
		rp.t.Fatalf("list of %d bytes for index %d: %v", len(bits), ref.Idx, err)
	}
	return bits[ref.Idx/8] >> (ref.Idx % 8) & 1
}

// waitStatus polls until the token's entry reads want, and returns how
// long it took; it fails after a generous deadline (no timing assertion:
// the figure is logged).
func (rp *relyingParty) waitStatus(token string, want byte) time.Duration {
	rp.t.Helper()
	start := time.Now()
	for rp.status(token) != want {
		if time.Since(start) > 20*time.Second {
			rp.t.Fatalf("the token's entry never read %d", want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// TestJWTStatusList runs the server with -jwt: its access tokens are JWTs
// that verify with its JWKS and carry a status claim, whose list reads 0
// while the token is live and 1 once it is revoked: directly, through its
// refresh token, or through its user by Global Token Revocation.
func TestJWTStatusList(t *testing.T) {
	c, _, _ := start(t, "-store", "memory", "-jwt", "-global-token", "tool-secret")
	rp := newRelyingParty(t, c)

	direct := c.mint("my-app")
	claims := rp.claims(direct.AccessToken)
	if claims.ID == "" || claims.Subject != demoSubject || claims.ClientID != "my-app" || claims.Expiry == nil {
		t.Fatalf("claims %+v", claims)
	}
	if rp.status(direct.AccessToken) != 0 {
		t.Fatal("a live token reads 1")
	}
	if r := c.protected(direct.AccessToken); r.status != http.StatusOK {
		t.Fatalf("protected: %d %s", r.status, r.body)
	}
	if r := c.revoke(direct.AccessToken, "my-app"); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	t.Logf("access token revoked: its entry read 1 after %v", rp.waitStatus(direct.AccessToken, 1))

	byRefresh := c.mint("my-app")
	if r := c.revoke(byRefresh.RefreshToken, "my-app"); r.status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	t.Logf("refresh token revoked: the access token's entry read 1 after %v", rp.waitStatus(byRefresh.AccessToken, 1))

	form := func(subject string) tokenResponse {
		r, tok := c.token(url.Values{"clientId": {"my-app"}, "subject": {subject}})
		if r.status != http.StatusOK {
			t.Fatalf("mint: %d %s", r.status, r.body)
		}
		return tok
	}
	alice, alice2, bob := form("alice"), form("alice"), form("bob")
	global := func(bearer, body string) response {
		t.Helper()
		return c.do("POST", httpadapter.GlobalRevocationPath, "application/json", body, bearer)
	}
	if r := global("wrong", `{"sub_id": {"format": "opaque", "id": "alice"}}`); r.status != http.StatusUnauthorized {
		t.Fatalf("global revocation with a wrong token: %d", r.status)
	}
	if r := global("tool-secret", `{"sub_id": {"format": "opaque", "id": "carol"}}`); r.status != http.StatusNotFound {
		t.Fatalf("global revocation of an unknown user: %d", r.status)
	}
	r := global("tool-secret", `{"sub_id": {"format": "iss_sub", "iss": "`+c.base+`", "sub": "alice"}}`)
	if r.status != http.StatusNoContent {
		t.Fatalf("global revocation: %d %s", r.status, r.body)
	}
	t.Logf("user revoked: the entry read 1 after %v", rp.waitStatus(alice.AccessToken, 1))
	rp.waitStatus(alice2.AccessToken, 1)
	if rp.status(bob.AccessToken) != 0 {
		t.Fatal("another user's token reads 1")
	}
	if r, _ := c.refresh(alice.RefreshToken, "my-app"); r.status != http.StatusBadRequest {
		t.Fatalf("refresh of a revoked user: %d", r.status)
	}
}

// TestDefaultIssuer checks that the default issuer is the host of -addr as
// given, with the port the server listens on: the README's session names
// the issuer http://localhost:8080, which must be what the server says.
func TestDefaultIssuer(t *testing.T) {
	for _, tc := range []struct{ addr, listening, want string }{
		{"localhost:8080", "127.0.0.1:8080", "http://localhost:8080"},
		{"127.0.0.1:0", "127.0.0.1:43210", "http://127.0.0.1:43210"},
		{":8080", "[::]:8080", "http://localhost:8080"},
		{"[::1]:0", "[::1]:43210", "http://[::1]:43210"},
	} {
		ln, err := net.ResolveTCPAddr("tcp", tc.listening)
		if err != nil {
			t.Fatal(err)
		}
		if got := defaultIssuer(tc.addr, ln); got != tc.want {
			t.Errorf("-addr %s listening on %s: issuer %s, want %s", tc.addr, tc.listening, got, tc.want)
		}
	}
}
