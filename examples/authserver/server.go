package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/sdkauth/revocation/examples/internal/serve"
	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/revoke"
)

// Lifetimes of the DEMO tokens.
const (
	accessTTL  = 15 * time.Minute
	refreshTTL = 24 * time.Hour
)

// demoClient is the client the DEMO token endpoint mints for when the
// request names none.
const demoClient = "demo-client"

// demoSubject is the user the DEMO endpoints act for when the request names
// none.
const demoSubject = "demo-user"

// endpoints configures the server's endpoints (see authFlags).
type endpoints struct {
	// revoke are the revocation endpoint's options: client
	// authentication and CORS.
	revoke []httpadapter.Option
	// introspect are the introspection endpoint's options (its client
	// authentication); nil serves no introspection endpoint.
	introspect []httpadapter.Option
	// jwt mints access tokens as JWTs with a status claim, and serves the
	// JWKS and the status lists (-jwt); nil mints opaque access tokens.
	jwt *jwtMode
	// global are the Global Token Revocation endpoint's options
	// (-global-token); nil serves no such endpoint.
	global []httpadapter.GlobalOption
	// users are the subjects the DEMO token endpoint minted for; nil
	// remembers none.
	users *users
	// feed are the revocation feed's options (its followers'
	// authentication); nil serves no feed.
	feed []httpadapter.FeedOption
	// streams ends the feed's streams when it is done (the server shuts
	// down); nil leaves them to the Revoker's Close and the requests'
	// contexts.
	streams context.Context
}

// newServer returns the server's routes over rev, with its metrics at
// /metrics, and the endpoints configured by e.
func newServer(rev *revoke.Revoker, log *slog.Logger, e endpoints) (http.Handler, error) {
	mux := http.NewServeMux()

	// The real thing: the revocation endpoint, in both dialects (JSON and
	// RFC 7009 forms), mounted for every method. Without -clients it takes
	// the client the request names on trust; a production server
	// authenticates clients (httpadapter.WithClientAuth).
	revokeEndpoint, err := httpadapter.NewHandler(rev, append([]httpadapter.Option{httpadapter.WithLogger(log)}, e.revoke...)...)
	if err != nil {
		return nil, err
	}
	httpadapter.Mount(mux, revokeEndpoint)

	// Token introspection (RFC 7662) for resource servers, with -clients
	// only: it describes tokens to authenticated clients, never to
	// anonymous callers.
	if e.introspect != nil {
		h, err := httpadapter.NewIntrospectionHandler(rev, append([]httpadapter.Option{httpadapter.WithLogger(log)}, e.introspect...)...)
		if err != nil {
			return nil, err
		}
		mux.Handle(httpadapter.IntrospectionPath, h)
	}

	// The revocation feed (GET /v1/auth/revocations) for resource servers
	// that follow this server's revocations (package follow), behind a
	// bearer secret or the client secrets: a follower without credentials
	// gets 401.
	if e.feed != nil {
		h, err := httpadapter.NewFeedHandler(rev, append([]httpadapter.FeedOption{httpadapter.WithFeedLogger(log)}, e.feed...)...)
		if err != nil {
			return nil, err
		}
		mux.Handle(httpadapter.FeedPath, feedStreams(e.streams, h))
	}

	// Access tokens as JWTs (-jwt): the JWKS and the Token Status Lists
	// that resource servers check them with.
	if e.jwt != nil {
		e.jwt.mount(mux)
	}

	// Global Token Revocation (-global-token): a security tool or an
	// identity provider revokes every grant of a user.
	if e.global != nil {
		h, err := httpadapter.NewGlobalRevocationHandler(rev, e.global...)
		if err != nil {
			return nil, err
		}
		mux.Handle(httpadapter.GlobalRevocationPath, h)
	}

	// DEMO: a stand-in for the token endpoint of an authorization server.
	mux.Handle("POST /demo/token", demoToken(rev, log, e))

	// DEMO: "log out everywhere" for a user.
	mux.Handle("POST /demo/logout-everywhere", demoLogoutEverywhere(rev, log))

	// Prometheus metrics from the Revoker's Stats.
	mux.Handle("GET /metrics", metricsHandler(rev))

	// DEMO: a stand-in for an API that accepts the access tokens. Only the
	// middleware stands between a request and the greeting: it turns away
	// revoked tokens and, since every token this server mints is recorded
	// (RequireIssued), tokens it never issued, expired ones and refresh
	// tokens, at the cost of a store read per request.
	protect, err := httpadapter.Middleware(rev, httpadapter.WithLogger(log), httpadapter.RequireIssued())
	if err != nil {
		return nil, err
	}
	mux.Handle("GET /demo/protected", protect(demoProtected()))

	mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(httpadapter.OpenAPI)
	})
	return serve.AccessLog(log, mux), nil
}

// feedStreams serves the feed's streams with h, ending them when done is
// (nil: never) as well as when their requests' contexts end.
func feedStreams(done context.Context, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if done != nil {
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			defer context.AfterFunc(done, cancel)()
			r = r.WithContext(ctx)
		}
		h.ServeHTTP(w, r)
	})
}

// tokenResponse is the DEMO token endpoint's answer, shaped like an RFC 6749
// access token response.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// tokenError is an RFC 6749 section 5.2 error response.
type tokenError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// demoToken is a DEMO ONLY endpoint. Without grant_type (or with
// grant_type=password) it mints a refresh token and an access token minted
// from it for whatever client and subject the request names (fields
// clientId, default "demo-client", and subject, default "demo-user"),
// without any authentication, and records both with Issue. With
// grant_type=refresh_token it is the refresh step: the refresh_token field
// is rotated (Rotate) and a new pair is returned; presenting a refresh token
// that was already rotated is reuse, which revokes the whole grant. A real
// token endpoint authenticates the client and the user (RFC 6749) first.
//
// With -jwt the access token is an ES256 JWT with iss, sub, client_id,
// jti, iat, exp and a status claim whose list the server serves.
func demoToken(rev *revoke.Revoker, log *slog.Logger, e endpoints) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		req, err := readDemoRequest(r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
			return
		}
		refresh, access := newToken(), ""
		now := time.Now()
		ctx := r.Context()
		switch req.GrantType {
		case "", "password":
			if e.users != nil {
				e.users.add(req.Subject)
			}
			err = rev.Issue(ctx, revoke.Token{
				Value: refresh, Kind: revoke.Refresh, ClientID: req.ClientID,
				Subject: req.Subject, ExpiresAt: now.Add(refreshTTL),
			})
		case "refresh_token":
			if req.RefreshToken == "" {
				writeJSON(w, http.StatusBadRequest, tokenError{"invalid_request", "refresh_token is required"})
				return
			}
			err = rev.Rotate(ctx, req.RefreshToken, revoke.Token{
				Value: refresh, Kind: revoke.Refresh, ClientID: req.ClientID, ExpiresAt: now.Add(refreshTTL),
			})
		default:
			writeJSON(w, http.StatusBadRequest, tokenError{"unsupported_grant_type", "grant_type must be refresh_token or absent"})
			return
		}
		if err == nil {
			// The access token is minted from the new refresh token.
			access, err = issueAccess(ctx, rev, e.jwt, req.ClientID, refresh, now.Add(accessTTL))
		}
		switch {
		case errors.Is(err, revoke.ErrReused):
			writeJSON(w, http.StatusBadRequest, tokenError{"invalid_grant", "refresh token reused: the grant is revoked"})
			return
		case errors.Is(err, revoke.ErrRevoked), errors.Is(err, revoke.ErrUnknownParent),
			errors.Is(err, revoke.ErrClientMismatch), errors.Is(err, revoke.ErrInvalidToken):
			writeJSON(w, http.StatusBadRequest, tokenError{"invalid_grant", "the refresh token is invalid, expired or revoked"})
			return
		case err != nil:
			log.Error("demo: issuing tokens", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "internal error"})
			return
		}
		writeJSON(w, http.StatusOK, tokenResponse{
			AccessToken:  access,
			RefreshToken: refresh,
			TokenType:    "Bearer",
			ExpiresIn:    int(accessTTL / time.Second),
		})
	})
}

// issueAccess mints an access token from the refresh token and records
// it: an opaque one, or with -jwt a JWT for the grant's subject, with a
// status list entry recorded with it.
func issueAccess(ctx context.Context, rev *revoke.Revoker, jm *jwtMode, clientID, refresh string, exp time.Time) (string, error) {
	tok := revoke.Token{Value: newToken(), Kind: revoke.Access, ClientID: clientID, Parent: refresh, ExpiresAt: exp}
	if jm != nil {
		info, err := rev.Lookup(ctx, refresh)
		if err != nil {
			return "", err
		}
		if tok.Value, tok.Status, err = jm.mint(clientID, info.Subject, exp); err != nil {
			return "", err
		}
	}
	return tok.Value, rev.Issue(ctx, tok)
}

// demoLogoutEverywhere is a DEMO ONLY endpoint: it revokes every grant of
// the subject the request names (field subject, default "demo-user"), across
// clients, as a password change or "sign out of all devices" would, and
// answers how many tokens it revoked. A real server authenticates the user
// (or an administrator) first.
func demoLogoutEverywhere(rev *revoke.Revoker, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		req, err := readDemoRequest(r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
			return
		}
		n, err := rev.RevokeSubject(r.Context(), req.Subject)
		if err != nil {
			log.Error("demo: log out everywhere", "err", err)
			writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "internal error"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]int{"revoked": n})
	})
}

// demoRequest is what the DEMO endpoints read from a form or a JSON body.
type demoRequest struct {
	ClientID     string `json:"clientId"`
	Subject      string `json:"subject"`
	GrantType    string `json:"grant_type"`
	RefreshToken string `json:"refresh_token"`
}

// readDemoRequest reads a DEMO request from a JSON body or a form, with
// demoClient and demoSubject for a missing clientId and subject.
func readDemoRequest(r *http.Request) (demoRequest, error) {
	var req demoRequest
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			return req, fmt.Errorf("body must be a JSON object of string fields")
		}
	case "", "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return req, fmt.Errorf("malformed form")
		}
		req = demoRequest{
			ClientID:     r.PostForm.Get("clientId"),
			Subject:      r.PostForm.Get("subject"),
			GrantType:    r.PostForm.Get("grant_type"),
			RefreshToken: r.PostForm.Get("refresh_token"),
		}
	default:
		return req, fmt.Errorf("Content-Type must be application/json or application/x-www-form-urlencoded")
	}
	req.ClientID = strings.TrimSpace(req.ClientID)
	if req.ClientID == "" {
		req.ClientID = demoClient
	}
	req.Subject = strings.TrimSpace(req.Subject)
	if req.Subject == "" {
		req.Subject = demoSubject
	}
	if len(req.ClientID) > httpadapter.DefaultMaxClientIDLength {
		return req, fmt.Errorf("clientId is too long")
	}
	if len(req.Subject) > revoke.MaxSubjectLength {
		return req, fmt.Errorf("subject is too long")
	}
	return req, nil
}

// newToken returns a random opaque token: 32 bytes from crypto/rand,
// base64url without padding.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// demoProtected is the DEMO API behind the Middleware. The middleware has
// already turned away every bearer token that is not a live access token of
// the store (RequireIssued); this handler only insists that there is a
// bearer token at all. A real resource server would also check what the
// token allows (its scopes and audience), which the demo does not record.
func demoProtected() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			w.Header().Set("WWW-Authenticate", `Bearer realm="demo"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "bearer token required"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"message": "hello from the protected demo API: your token has not been revoked"})
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
