package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sdkauth/revocation/examples/internal/serve"
	"github.com/sdkauth/revocation/follow"
	"github.com/sdkauth/revocation/httpadapter"
)

// newServer returns the server's routes: the API behind the middleware over
// checker, and the follower's health. maxLag is -max-lag (0: none).
func newServer(checker *follow.Checker, maxLag time.Duration, log *slog.Logger) (http.Handler, error) {
	mux := http.NewServeMux()
	// The API: the middleware refuses the tokens the auth server revoked
	// (401), from the follower's memory, and fails closed (503) while the
	// follower lags by more than -max-lag.
	protect, err := httpadapter.Middleware(checker, httpadapter.WithLogger(log))
	if err != nil {
		return nil, err
	}
	mux.Handle("GET /api/hello", protect(hello()))
	mux.Handle("GET /healthz", healthz(checker, maxLag))
	return serve.AccessLog(log, mux), nil
}

// hello is the API. The middleware has turned away every bearer token the
// auth server revoked; this handler insists that there is a bearer token at
// all. It does not verify the token: see the package documentation.
func hello() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "Bearer") || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="api"`)
			writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "bearer token required"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"message": "hello from the resource server: the auth server has not revoked your token"})
	})
}

// health is the answer of /healthz: the follower's Stats.
type health struct {
	// Status is "ok", or "stale" while the follower lags by more than
	// -max-lag (the API then answers 503).
	Status    string `json:"status"`
	URL       string `json:"url"`
	Connected bool   `json:"connected"`
	// Entries is how many revocations the follower holds.
	Entries int `json:"entries"`
	// Epoch and Position are where in the auth server's change log the
	// follower stands.
	Epoch    string `json:"epoch"`
	Position uint64 `json:"position"`
	// LagMS is follow.Checker.Lag in milliseconds.
	LagMS      int64  `json:"lag_ms"`
	Snapshots  uint64 `json:"snapshots"`
	Reconnects uint64 `json:"reconnects"`
	LastError  string `json:"last_error,omitempty"`
}

// healthz answers the follower's state: 200, or 503 while it lags by more
// than maxLag (when maxLag is not 0).
func healthz(checker *follow.Checker, maxLag time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s := checker.Stats()
		h := health{
			Status: "ok", URL: s.URL, Connected: s.Connected, Entries: s.Entries,
			Epoch: fmt.Sprintf("%016x", s.Epoch), Position: s.Position, LagMS: s.Lag.Milliseconds(),
			Snapshots: s.Snapshots, Reconnects: s.Reconnects,
		}
		if s.LastError != nil {
			h.LastError = s.LastError.Error()
		}
		status := http.StatusOK
		if maxLag > 0 && s.Lag > maxLag {
			h.Status, status = "stale", http.StatusServiceUnavailable
		}
		writeJSON(w, status, h)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
