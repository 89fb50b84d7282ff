package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

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

// newServer returns the server's routes over rev; opts configure the
// revocation endpoint (client authentication, CORS: see handlerOptions).
func newServer(rev *revoke.Revoker, log *slog.Logger, opts ...httpadapter.Option) http.Handler {
	mux := http.NewServeMux()

	// The real thing: the revocation endpoint, in both dialects (JSON and
	// RFC 7009 forms), mounted for every method. Without -clients it takes
	// the client the request names on trust; a production server
	// authenticates clients (httpadapter.WithClientAuth).
	httpadapter.Mount(mux, httpadapter.NewHandler(rev, append([]httpadapter.Option{httpadapter.WithLogger(log)}, opts...)...))

	// DEMO: a stand-in for the token endpoint of an authorization server.
	mux.Handle("POST /demo/token", demoToken(rev, log))

	// DEMO: a stand-in for an API that accepts the access tokens. Only the
	// middleware's revocation check stands between a request and the
	// greeting.
	mux.Handle("GET /demo/protected", httpadapter.Middleware(rev, httpadapter.WithLogger(log))(demoProtected()))

	mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(httpadapter.OpenAPI)
	})
	return accessLog(log, mux)
}

// tokenResponse is the DEMO token endpoint's answer, shaped like an RFC 6749
// access token response.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// demoToken is a DEMO ONLY endpoint: it mints a refresh token and an access
// token minted from it for whatever client the request names (form or JSON
// field clientId, default "demo-client"), without any authentication, and
// records both with Issue. A real token endpoint authenticates the client and
// the user (RFC 6749) first.
func demoToken(rev *revoke.Revoker, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
		clientID, err := demoClientID(r)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
			return
		}
		refresh, access := newToken(), newToken()
		now := time.Now()
		ctx := r.Context()
		err = rev.Issue(ctx, revoke.Token{
			Value: refresh, Kind: revoke.Refresh, ClientID: clientID,
			Subject: "demo-user", ExpiresAt: now.Add(refreshTTL),
		})
		if err == nil {
			err = rev.Issue(ctx, revoke.Token{
				Value: access, Kind: revoke.Access, ClientID: clientID,
				Subject: "demo-user", Parent: refresh, ExpiresAt: now.Add(accessTTL),
			})
		}
		if err != nil {
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

// demoClientID reads the client of a DEMO token request: the clientId field
// of a JSON body or of a form, or demoClient when there is none.
func demoClientID(r *http.Request) (string, error) {
	var id string
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var body struct {
			ClientID string `json:"clientId"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return "", fmt.Errorf("body must be a JSON object with a string clientId")
		}
		id = body.ClientID
	case "", "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return "", fmt.Errorf("malformed form")
		}
		id = r.PostForm.Get("clientId")
	default:
		return "", fmt.Errorf("Content-Type must be application/json or application/x-www-form-urlencoded")
	}
	id = strings.TrimSpace(id)
	if id == "" {
		id = demoClient
	}
	if len(id) > httpadapter.DefaultMaxClientIDLength {
		return "", fmt.Errorf("clientId is too long")
	}
	return id, nil
}

// newToken returns a random opaque token: 32 bytes from crypto/rand,
// base64url without padding.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// demoProtected is the DEMO API behind the Middleware. The middleware has
// already turned away revoked tokens; this handler only insists that there is
// a bearer token at all. A real resource server would also verify the token
// here (look it up, or check its signature, expiry and audience): the demo
// checks only revocation, so any non-revoked string passes.
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

// accessLog logs each request's method, path, status and duration.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		log.Info("request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration", time.Since(start).Round(time.Microsecond))
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
