package httpadapter

import (
	"context"
	"errors"
	"fmt"
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
	challengeExpired   = `Bearer error="invalid_token", error_description="The access token has expired"`
	msgExpired         = "token has expired"
	challengeNotIssued = `Bearer error="invalid_token", error_description="The access token is not valid"`
	msgNotIssued       = "token is not a valid access token"
)

// Looker looks a token up: what the store knows of it (see
// revoke.Revoker.Lookup). *revoke.Revoker satisfies it; the Middleware
// needs it for RequireIssued, and the introspection endpoint is built on it.
type Looker interface {
	Lookup(ctx context.Context, token string) (revoke.TokenInfo, error)
}

// RequireIssued makes the Middleware let through only bearer tokens that
// were issued: after IsRevoked, it looks the token up (its Checker must be
// a Looker, such as *revoke.Revoker) and answers 401 with
// WWW-Authenticate: Bearer error="invalid_token" for a token that is not a
// live access token of the store: never issued (a made-up token), expired,
// spent, or a refresh token (RFC 6749 sends refresh tokens to the token
// endpoint only, never to a resource server). It is for servers that pass
// every opaque token they mint to Issue; a server whose JWTs are not all
// recorded would have them refused. Under a key function
// (revoke.WithTokenKey) the token is looked up by its key: with jwtkey, a
// forged JWT with the issuer and jti of a live access token passes.
//
// Its cost is a store read per request with a bearer token (one read
// transaction and one Get; IsRevoked alone reads none), and the
// allocations of that read. It does not make the Middleware verify
// signatures, audiences or scopes: a token that was issued and is live
// passes, whoever presents it and wherever.
//
// It applies to Middleware only; Middleware refuses it for a Checker that
// is not a Looker.
func RequireIssued() Option {
	return option("RequireIssued", forMiddleware, func(o *options) error {
		o.requireIssued = true
		return nil
	})
}

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
//   - With RequireIssued, a token that is not revoked but is not a live
//     access token either (never issued, expired, spent, a refresh token):
//     401 with WWW-Authenticate: Bearer error="invalid_token".
//   - No Authorization header, or another scheme (Basic, DPoP, ...): the
//     request passes through untouched. Authenticating the request, and
//     verifying that a token is genuine and unexpired, is the job of the
//     application; without RequireIssued the middleware only checks
//     revocation, and lets through any string it has never seen.
//
// Every response it writes carries Content-Type: application/json and
// Cache-Control: no-store. On the path that lets a request through, the
// middleware itself allocates nothing; *revoke.Revoker's IsRevoked does not
// allocate either (RequireIssued adds a store read).
//
// Of the options, WithLogger, WithRetryAfter and RequireIssued apply.
// Middleware returns an error wrapping ErrInvalidOption (see Option) for a
// nil c (a nil *revoke.Revoker included), a nil option, an option out of its range or of another constructor
// (WithCORS, WithClientAuth, WithMaxBodyBytes, ...), and for RequireIssued
// with a Checker that is not a Looker (one that can only answer IsRevoked
// cannot tell an issued token from a made-up one). The function it returns
// panics if the handler it wraps is nil: that is a mistake in the wiring,
// made once at start-up.
func Middleware(c Checker, opts ...Option) (func(http.Handler) http.Handler, error) {
	if isNil(c) {
		return nil, invalidOption(forMiddleware, errors.New("nil Checker"))
	}
	o, err := newOptions(forMiddleware, opts)
	if err != nil {
		return nil, err
	}
	var look Looker
	if o.requireIssued {
		l, ok := c.(Looker)
		if !ok {
			return nil, invalidOption(forMiddleware, fmt.Errorf("RequireIssued needs a Checker with a Lookup method (a Looker), not a %T", c))
		}
		look = l
	}
	return func(next http.Handler) http.Handler {
		if next == nil {
			panic("httpadapter: Middleware: nil next handler")
		}
		return &middleware{check: c, look: look, log: o.log, retryAfter: o.retryAfter, next: next}
	}, nil
}

type middleware struct {
	check      Checker
	look       Looker // with RequireIssued, else nil
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
		m.unavailable(w, r, err)
	case revoked:
		m.reject(w, http.StatusUnauthorized, challengeRevoked, msgRevoked)
	case m.look != nil:
		m.requireIssued(w, r, token)
	default:
		m.next.ServeHTTP(w, r)
	}
}

// requireIssued lets the request through if token, which IsRevoked reported
// not revoked, is a live access token of the store (RequireIssued).
func (m *middleware) requireIssued(w http.ResponseWriter, r *http.Request, token string) {
	info, err := m.look.Lookup(r.Context(), token)
	switch {
	case errors.Is(err, revoke.ErrInvalidToken):
		m.reject(w, http.StatusUnauthorized, challengeUnkeyed, msgUnkeyed)
	case err != nil:
		m.unavailable(w, r, err)
	case info.State == revoke.StateLive && info.Kind == revoke.Access:
		m.next.ServeHTTP(w, r)
	case info.State == revoke.StateRevoked:
		// Revoked by another process, which the index has not seen yet.
		m.reject(w, http.StatusUnauthorized, challengeRevoked, msgRevoked)
	case info.State == revoke.StateExpired && info.Kind == revoke.Access:
		m.reject(w, http.StatusUnauthorized, challengeExpired, msgExpired)
	default:
		m.reject(w, http.StatusUnauthorized, challengeNotIssued, msgNotIssued)
	}
}

// unavailable answers a failed check: 503 with Retry-After, the error
// logged. The middleware fails closed.
func (m *middleware) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	m.log.LogAttrs(r.Context(), slog.LevelError, "httpadapter: checking revocation failed",
		slog.Any("err", err))
	w.Header()["Retry-After"] = m.retryAfter
	m.reject(w, http.StatusServiceUnavailable, "", msgUnavailable)
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
