package readme

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/statuslist"
)

// StatusListIssuer holds the fragment of the README's "Token Status Lists":
// an Issuer mounted on mux, and an access token minted with its entry.
// sign stands for the application's JWT library.
func StatusListIssuer(ctx context.Context, rv *revoke.Revoker, mux *http.ServeMux, key crypto.Signer,
	claims map[string]any, sign func(map[string]any) (string, error), client string, exp time.Time) (string, error) {
	// README: status list issuer
	lists, err := statuslist.New(ctx, rv, "https://as.example/statuslists",
		statuslist.Key{Signer: key, ID: "2026-12"}, // ES256 (P-256), ES384 or EdDSA
		statuslist.WithTTL(time.Minute))            // how long relying parties cache a list
	if err != nil {
		return "", err
	}
	defer lists.Close()
	mux.Handle(lists.Path(), lists) // GET /statuslists/{16 hex digits}

	e, err := lists.Allocate() // for each access token minted
	if err != nil {
		return "", err
	}
	claims["status"] = e.Claim() // {"status_list": {"idx": 7, "uri": "https://as.example/statuslists/…"}}
	token, err := sign(claims)
	if err != nil {
		return "", err
	}
	err = rv.Issue(ctx, revoke.Token{Value: token, Kind: revoke.Access, ClientID: client, ExpiresAt: exp, Status: e.Ref})
	// README end: status list issuer
	return token, err
}

// RelyingParty holds the fragment of the README's "Token Status Lists":
// a resource server that checks an access token's status with an HTTP GET
// and a JWT library (go-jose), given the server's JWKS.
func RelyingParty(token string, jwks jose.JSONWebKeySet) (bool, error) {
	// README: relying party
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return false, err
	}
	var claims struct {
		jwt.Claims
		Status struct {
			StatusList struct {
				Idx int    `json:"idx"`
				URI string `json:"uri"`
			} `json:"status_list"`
		} `json:"status"`
	}
	if err := tok.Claims(jwks, &claims); err != nil { // signature
		return false, err
	}
	if err := claims.Validate(jwt.Expected{Issuer: "https://as.example", Time: time.Now()}); err != nil {
		return false, err // expired, another issuer
	}
	ref := claims.Status.StatusList

	req, _ := http.NewRequest("GET", ref.URI, nil) // cache the answer for its ttl claim
	req.Header.Set("Accept", "application/statuslist+jwt")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return false, errors.New("status list unavailable")
	}
	list, err := jose.ParseSignedCompact(string(body), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || list.Signatures[0].Header.ExtraHeaders["typ"] != "statuslist+jwt" {
		return false, errors.New("not a status list token")
	}
	payload, err := list.Verify(jwks)
	if err != nil {
		return false, err
	}
	var lc struct {
		Sub        string `json:"sub"`
		Exp        int64  `json:"exp"`
		StatusList struct {
			Bits int    `json:"bits"`
			Lst  string `json:"lst"`
		} `json:"status_list"`
	}
	if err := json.Unmarshal(payload, &lc); err != nil || lc.Sub != ref.URI || lc.StatusList.Bits != 1 || time.Now().Unix() >= lc.Exp {
		return false, errors.New("wrong, expired or malformed status list")
	}
	z, err := base64.RawURLEncoding.DecodeString(lc.StatusList.Lst)
	if err != nil {
		return false, err
	}
	zr, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		return false, err
	}
	bits, err := io.ReadAll(zr)
	if err != nil || ref.Idx/8 >= len(bits) {
		return false, errors.New("index out of the list") // reject the token
	}
	revoked := bits[ref.Idx/8]>>(ref.Idx%8)&1 == 1 // 0 VALID, 1 INVALID
	// README end: relying party
	return revoked, nil
}

// Users is the user database of the README's "Global Token Revocation".
type Users interface {
	// ByIdentifier maps an RFC 9493 subject identifier to a subject, or
	// returns httpadapter.ErrSubjectNotFound.
	ByIdentifier(ctx context.Context, id httpadapter.SubjectID) (string, error)
}

// GlobalRevocation holds the fragment of the README's "Global Token
// Revocation": the endpoint mounted on mux.
func GlobalRevocation(rv *revoke.Revoker, mux *http.ServeMux, users Users, checkToolToken httpadapter.GlobalAuth) error {
	// README: global token revocation
	h, err := httpadapter.NewGlobalRevocationHandler(rv,
		httpadapter.WithGlobalAuth(checkToolToken),          // func(ctx, bearer, sub_id) error: ErrCallerUnauthenticated (401), ErrCallerForbidden (403)
		httpadapter.WithGlobalIssuer("https://as.example"),  // iss_sub of this issuer: sub is the subject
		httpadapter.WithSubjectResolver(users.ByIdentifier)) // email, opaque, other issuers; ErrSubjectNotFound (404)
	if err != nil {
		return err
	}
	mux.Handle(httpadapter.GlobalRevocationPath, h) // POST /v1/auth/global-token-revocation
	// README end: global token revocation
	return nil
}
