package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/statuslist"
)

// JWKSPath is where the server publishes the public key of its JWTs and
// Status List Tokens in -jwt mode.
const JWKSPath = "/.well-known/jwks.json"

// statusListPath is the path of the status lists under the issuer URL.
const statusListPath = "/statuslists"

// jwtMode mints access tokens as ES256 JWTs carrying a status claim (the
// -jwt flag), and serves the JWKS and the Token Status Lists that let any
// resource server verify them and check their revocation without calling
// back.
type jwtMode struct {
	issuer string
	jwks   []byte
	signer jose.Signer
	lists  *statuslist.Issuer
}

// newJWTMode draws a fresh signing key (DEMO: a real server keeps its key
// in a KMS and rotates it through the JWKS) and starts the status list
// issuer over rev, whose lists are served under issuer + statusListPath.
func newJWTMode(ctx context.Context, rev *revoke.Revoker, issuer string, log *slog.Logger) (*jwtMode, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	kid := newToken()[:16]
	jwk := jose.JSONWebKey{Key: &key.PublicKey, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}})
	if err != nil {
		return nil, err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", kid))
	if err != nil {
		return nil, err
	}
	lists, err := statuslist.New(ctx, rev, issuer+statusListPath, statuslist.Key{Signer: key, ID: kid},
		statuslist.WithRandomIndices(), statuslist.WithTTL(time.Minute), statuslist.WithLogger(log),
		// A replica cut off for 10 s from a store other processes write
		// (sqlite, postgres, mysql) answers 503 rather than sign lists
		// that miss their revocations; over bolt or memory it never lags.
		statuslist.WithMaxLag(10*time.Second))
	if err != nil {
		return nil, err
	}
	return &jwtMode{issuer: issuer, jwks: jwks, signer: signer, lists: lists}, nil
}

// accessClaims are the claims of an access token (RFC 9068, less aud and
// scope, which the demo does not model) with its status claim.
type accessClaims struct {
	jwt.Claims
	ClientID string                 `json:"client_id"`
	Status   statuslist.StatusClaim `json:"status"`
}

// mint returns a signed access token for the client and subject, expiring
// at exp, with a fresh status list entry, and the entry to pass to Issue.
func (m *jwtMode) mint(clientID, subject string, exp time.Time) (string, revoke.StatusRef, error) {
	e, err := m.lists.Allocate()
	if err != nil {
		return "", revoke.StatusRef{}, err
	}
	now := time.Now()
	c := accessClaims{
		Claims: jwt.Claims{
			Issuer: m.issuer, Subject: subject, ID: newToken(),
			IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(exp),
		},
		ClientID: clientID,
		Status:   e.Claim(),
	}
	tok, err := jwt.Signed(m.signer).Claims(c).Serialize()
	if err != nil {
		return "", revoke.StatusRef{}, fmt.Errorf("signing the access token: %w", err)
	}
	return tok, e.Ref, nil
}

// mount adds the JWKS and the status lists to mux.
func (m *jwtMode) mount(mux *http.ServeMux) {
	mux.HandleFunc("GET "+JWKSPath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(m.jwks)
	})
	mux.Handle(m.lists.Path(), m.lists)
}

// close stops the status list issuer.
func (m *jwtMode) close() error { return m.lists.Close() }

// users remembers the subjects the DEMO token endpoint minted for: the
// demo's stand-in for a user database, which the Global Token Revocation
// endpoint asks whether a user exists.
type users struct{ m sync.Map }

func (u *users) add(subject string) { u.m.Store(subject, true) }

func (u *users) has(subject string) bool { _, ok := u.m.Load(subject); return ok }

// globalRevocation returns the Global Token Revocation endpoint's
// options: callers present secret as their bearer token (DEMO: a real
// server checks a narrowly scoped token, per tenant); users are named by
// {"format": "iss_sub", "iss": issuer, "sub": subject} or {"format":
// "opaque", "id": subject}, and are found if the demo minted for them.
func globalRevocation(secret, issuer string, known *users, log *slog.Logger) []httpadapter.GlobalOption {
	auth := func(_ context.Context, bearer string, _ httpadapter.SubjectID) error {
		if subtle.ConstantTimeCompare([]byte(bearer), []byte(secret)) != 1 {
			return httpadapter.ErrCallerUnauthenticated
		}
		return nil
	}
	resolve := func(_ context.Context, id httpadapter.SubjectID) (string, error) {
		subject := id.ID
		if id.Format == "iss_sub" && id.Iss == issuer {
			subject = id.Sub
		} else if id.Format != "opaque" {
			return "", httpadapter.ErrSubjectNotFound
		}
		if !known.has(subject) {
			return "", httpadapter.ErrSubjectNotFound
		}
		return subject, nil
	}
	return []httpadapter.GlobalOption{
		httpadapter.WithGlobalAuth(auth),
		httpadapter.WithSubjectResolver(resolve),
		httpadapter.WithGlobalLogger(log),
	}
}
