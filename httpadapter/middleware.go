package httpadapter

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/sdkauth/revocation/revoke"
)

// Checker reports whether a token has been revoked. *revoke.Revoker
// satisfies it.
type Checker interface {
	IsRevoked(ctx context.Context, token string) (bool, error)
}

// Fixed parts of the Middleware's responses.
const (
	challengeRevoked   = `Bearer error="invalid_token", error_description="The access token has been revoked"`
	challengeMalformed = `Bearer error="invalid_request", error_description="Malformed Bearer credentials"`
	msgRevoked         = "token has been revoked"
	msgMalformed       = "malformed Authorization header"
	msgUnavailable     = "token revocation status unavailable"
	challengeUnkeyed   = `Bearer error="invalid_token", error_description="The access token is malformed"`
	msgUnkeyed         = "malformed token"
)

// Middleware returns a middleware that turns away requests whose bearer
// token (RFC 6750, "Authorization: Bearer <token>", scheme matched
// case-insensitively) c reports revoked, before they reach the wrapped
// handler:
//
//   - A revoked token: 401 Unauthorized with
//     WWW-Authenticate: Bearer error="invalid_token" and an Error body.
//   - Malformed Bearer credentials (no token after the scheme, whitespace
//     inside the token) or more than one Authorization header field when
//     one of them is Bearer: 400 Bad Request with
//     WWW-Authenticate: Bearer error="invalid_request", as RFC 6750 section
//     3.1 asks for invalid_request.
//   - A token c refuses as malformed (an error wrapping
//     revoke.ErrInvalidToken, as IsRevoked returns for a token its key
//     function rejects, see revoke.WithTokenKey): 401 with
//     WWW-Authenticate: Bearer error="invalid_token".
//   - Any other error from c: 503 Service Unavailable with Retry-After (see
//     WithRetryAfter) and an Error body; the error is logged. The
//     middleware fails closed: a token whose state is unknown is not let
//     through.
//   - No Authorization header, or another scheme (Basic, DPoP, ...): the
//     request passes through untouched. Authenticating the request, and
//     verifying that a token is genuine and unexpired, is the job of the
//     application; the middleware only checks revocation.
//
// Every response it writes carries Content-Type: application/json and
// Cache-Control: no-store. Of the options, only WithLogger and
// WithRetryAfter apply. On the
// path that lets a request through, the middleware itself allocates nothing;
// *revoke.Revoker's IsRevoked does not allocate either. Middleware panics if
// c is nil, and the returned function panics if the handler it wraps is nil.
func Middleware(c Checker, opts ...Option) func(http.Handler) http.Handler {
	if c == nil {
		panic("httpadapter: Middleware: nil Checker")
	}
	o := newOptions(opts)
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("httpadapter: Middleware: nil next handler")
		}
		return &middleware{check: c, log: o.log, retryAfter: o.retryAfter, next: next}
	}
}

type middleware struct {
	check      Checker
	log        *slog.Logger
	retryAfter []string
	next       http.Handler
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	vals := r.Header["Authorization"]
	if len(vals) == 0 {
		m.next.ServeHTTP(w, r)
		return
	}
	token, bearer := parseBearer(vals[0])
	if len(vals) > 1 {
		for _, v := range vals {
			if _, b := parseBearer(v); b {
				m.reject(w, http.StatusBadRequest, challengeMalformed, msgMalformed)
				return
			}
		}
	}
	if !bearer {
		m.next.ServeHTTP(w, r)
		return
	}
	if token == "" {
		m.reject(w, http.StatusBadRequest, challengeMalformed, msgMalformed)
		return
	}
	revoked, err := m.check.IsRevoked(r.Context(), token)
	switch {
	case errors.Is(err, revoke.ErrInvalidToken):
		m.reject(w, http.StatusUnauthorized, challengeUnkeyed, msgUnkeyed)
	case err != nil:
		m.log.LogAttrs(r.Context(), slog.LevelError, "httpadapter: checking revocation failed",
			slog.Any("err", err))
		w.Header()["Retry-After"] = m.retryAfter
		m.reject(w, http.StatusServiceUnavailable, "", msgUnavailable)
	case revoked:
		m.reject(w, http.StatusUnauthorized, challengeRevoked, msgRevoked)
	default:
		m.next.ServeHTTP(w, r)
	}
}

func (m *middleware) reject(w http.ResponseWriter, status int, challenge, msg string) {
	if challenge != "" {
		w.Header().Set("WWW-Authenticate", challenge)
	}
	writeMessage(w, status, msg)
}

// parseBearer reads an Authorization field value. bearer reports whether its
// scheme is Bearer (in any case) followed by a space or the end; token is
// then the credentials after the spaces, or "" when they are missing or
// malformed (they hold whitespace). It does not allocate.
func parseBearer(v string) (token string, bearer bool) {
	const scheme = "Bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) {
		return "", false
	}
	rest := v[len(scheme):]
	if rest == "" {
		return "", true
	}
	if rest[0] != ' ' && rest[0] != '\t' {
		return "", false // another scheme, e.g. "BearerX"
	}
	rest = strings.TrimLeft(rest, " \t")
	if strings.ContainsAny(rest, " \t") {
		return "", true
	}
	return rest, true
}
