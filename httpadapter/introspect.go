package httpadapter

import (
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/sdkauth/revocation/revoke"
)

// IntrospectionPath is the path the token introspection endpoint is
// documented at. NewIntrospectionHandler does not look at the request path;
// register its handler for every method, as Mount does for the revocation
// endpoint:
//
//	mux.Handle(httpadapter.IntrospectionPath, h)
const IntrospectionPath = "/v1/auth/token/introspect"

// WithIntrospectionAccess sets which authenticated client may learn about
// which token through NewIntrospectionHandler's endpoint. allow is called
// for a live token with the authenticated client and what the store knows
// of the token; when it returns false the answer is {"active":false}, as
// RFC 7662, section 2.2 asks for a token the caller may not introspect. It
// may be called concurrently. allow must not be nil. It applies to
// NewIntrospectionHandler only.
//
// Without it, any authenticated client may introspect any token: resource
// servers are clients of the authorization server, and introspect the
// tokens of every client that calls them. OwnTokens restricts each client
// to the tokens issued to it.
func WithIntrospectionAccess(allow func(client string, token revoke.TokenInfo) bool) Option {
	return option("WithIntrospectionAccess", forIntrospection, func(o *options) error {
		if allow == nil {
			return errors.New("nil rule")
		}
		o.allow = allow
		return nil
	})
}

// OwnTokens is a rule for WithIntrospectionAccess: a client may introspect
// only the tokens issued to it.
func OwnTokens(client string, token revoke.TokenInfo) bool { return client == token.ClientID }

// anyClient is the default rule of the introspection endpoint.
func anyClient(string, revoke.TokenInfo) bool { return true }

// Fixed parts of the introspection endpoint's responses.
const (
	tokenTypeBearer = "Bearer"        // RFC 6749, section 7.1; RFC 6750
	useAccess       = "access_token"  // RFC 7009 token type hint values
	useRefresh      = "refresh_token" //
	msgFormOnly     = "Content-Type must be application/x-www-form-urlencoded"
)

// introspectionResponse is the body of an introspection response for an
// active token (RFC 7662, section 2.2).
type introspectionResponse struct {
	Active    bool   `json:"active"`
	ClientID  string `json:"client_id,omitempty"`
	Subject   string `json:"sub,omitempty"`
	Expiry    int64  `json:"exp,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	TokenUse  string `json:"token_use,omitempty"`
}

// inactiveBody is the whole answer for every token that is not active.
var inactiveBody = []byte("{\"active\":false}\n")

// NewIntrospectionHandler returns the http.Handler of a token introspection
// endpoint (RFC 7662) over rv, documented at IntrospectionPath. A resource
// server (or any client of the authorization server) posts a form
// (application/x-www-form-urlencoded) with the token, and an optional
// token_type_hint that is only a hint (the token is found whatever its
// kind, and an unknown hint is ignored):
//
//	POST /v1/auth/token/introspect HTTP/1.1
//	Content-Type: application/x-www-form-urlencoded
//	Authorization: Basic <form-urlencoded client_id:client_secret, base64>
//
//	token=<token>&token_type_hint=access_token
//
// The caller must authenticate as a client with the ClientAuth given by
// WithClientAuth, as it would to revoke: a handler without one is refused
// here, with an error wrapping ErrInvalidOption, since introspection must
// never describe tokens to anonymous callers (RFC 7662, section 4). For the same reason, do not give
// it a ClientAuth that accepts public clients (AllowPublicClients): a
// client without a secret proves nothing. The responses, each with
// Content-Type: application/json, Cache-Control: no-store and Pragma:
// no-cache:
//
//   - 200 {"active":true,"client_id":...,"sub":...,"exp":...,"token_type":"Bearer","token_use":"access_token"}
//     for a live token (revoke.StateLive) the caller may introspect (see
//     WithIntrospectionAccess). sub is omitted when the token has no
//     subject; exp is its expiry in seconds since 1970, rounded down.
//     token_type is the OAuth token type (RFC 7662, section 2.2 refers to
//     RFC 6749, section 5.1), "Bearer", given for access tokens only: a
//     refresh token is not presented to resource servers and has no token
//     type. token_use, an extension member, says which kind of token it is,
//     "access_token" or "refresh_token" (the values of token_type_hint),
//     so that a resource server can refuse a refresh token presented as an
//     access token.
//   - 200 {"active":false}, and nothing else, for every other token:
//     revoked, spent (a rotated refresh token), expired, never issued, one
//     longer than the token limit (WithMaxTokenLength) or refused by the
//     Revoker's key function, or one the caller may not introspect.
//   - 400 {"error":"invalid_request",...} for a malformed form: no token, or
//     a parameter given twice; or for more than one Authorization header, or
//     the header together with client_secret (two authentication methods,
//     RFC 6749, section 2.3), as at the revocation endpoint.
//   - 401 {"error":"invalid_client",...} with WWW-Authenticate: Basic
//     realm="revocation" when client authentication fails, or the form's
//     client_id names another client than the credentials.
//   - 405 with Allow: POST for another method; 415 for another Content-Type
//     (JSON included); 413 for a body over WithMaxBodyBytes; each with an
//     RFC 6749 error body (invalid_request).
//   - 503 {"error":"temporarily_unavailable",...} with Retry-After
//     (WithRetryAfter) when the store cannot answer now (see Unavailable),
//     500 {"error":"server_error",...} for another failure. A failure is
//     never answered {"active":false}: the caller cannot tell an inactive
//     token from a store that is down.
//
// Under a key function (revoke.WithTokenKey) a token is found by its key,
// so every spelling of it gets the same answer: with jwtkey, a JWT forged
// or altered but carrying the issuer and jti of a live token is answered
// active, with that token's client_id, sub and exp. Those members come from
// the store and hold; any other claim of such a JWT holds only once its
// signature is verified.
//
// Each introspection reads the store once (see revoke.Revoker.Lookup); put
// the endpoint behind the rate limiting of the rest of the server. Of the
// options, WithLogger, WithMaxBodyBytes, WithMaxTokenLength,
// WithMaxClientIDLength, WithRetryAfter, WithClientAuth and
// WithIntrospectionAccess apply. It returns an error wrapping
// ErrInvalidOption (see Option) for a nil rv, a nil option, an option out of
// its range or of another constructor (WithCORS: resource servers call
// introspection, not browsers; RequireIssued), and without WithClientAuth.
// The handler is safe for concurrent use.
func NewIntrospectionHandler(rv *revoke.Revoker, opts ...Option) (http.Handler, error) {
	if rv == nil {
		return nil, invalidOption(forIntrospection, errors.New("nil Revoker"))
	}
	o, err := newOptions(forIntrospection, opts)
	if err != nil {
		return nil, err
	}
	if o.auth == nil {
		return nil, invalidOption(forIntrospection,
			errors.New("no client authentication (WithClientAuth): introspection must not answer anonymous callers"))
	}
	allow := o.allow
	if allow == nil {
		allow = anyClient
	}
	return &introspection{look: rv, opts: o, allow: allow}, nil
}

type introspection struct {
	look  Looker
	opts  options
	allow func(client string, token revoke.TokenInfo) bool
}

func (h *introspection) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, ok := h.request(w, r)
	if !ok {
		return
	}
	client, ok := h.authenticate(w, r, req)
	if !ok {
		return
	}
	var info revoke.TokenInfo // a token longer than the limit was never issued
	if len(req.token) <= h.opts.maxToken {
		var err error
		info, err = h.look.Lookup(r.Context(), req.token)
		switch {
		case errors.Is(err, revoke.ErrInvalidToken):
			info = revoke.TokenInfo{} // a token the server cannot have issued
		case err != nil:
			h.opts.log.LogAttrs(r.Context(), slog.LevelError, "httpadapter: introspection failed",
				slog.String("client_id", client), slog.Any("err", err))
			h.fail(w, err)
			return
		}
	}
	active := info.State == revoke.StateLive && h.allow(client, info)
	h.opts.log.LogAttrs(r.Context(), slog.LevelDebug, "httpadapter: introspected",
		slog.String("client_id", client), slog.String("state", info.State.String()), slog.Bool("active", active))
	if !active {
		writeBody(w, http.StatusOK, inactiveBody)
		return
	}
	writeBody(w, http.StatusOK, mustMarshal(activeResponse(info)))
}

// activeResponse is the introspection response for a live token.
func activeResponse(info revoke.TokenInfo) introspectionResponse {
	resp := introspectionResponse{Active: true, ClientID: info.ClientID, Subject: info.Subject, Expiry: info.ExpiresAt.Unix()}
	switch info.Kind {
	case revoke.Access:
		resp.TokenType, resp.TokenUse = tokenTypeBearer, useAccess
	case revoke.Refresh:
		resp.TokenUse = useRefresh
	}
	return resp
}

// request reads and validates an introspection request. It answers the
// request itself (405, 415, 413, 400) and returns false when it is not one.
func (h *introspection) request(w http.ResponseWriter, r *http.Request) (revokeRequest, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeOAuthError(w, http.StatusMethodNotAllowed, "invalid_request", msgMethod)
		return revokeRequest{}, false
	}
	if d, ok := dialectOf(r.Header); !ok || d != dialectForm {
		writeOAuthError(w, http.StatusUnsupportedMediaType, "invalid_request", msgFormOnly)
		return revokeRequest{}, false
	}
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.maxBody)); err != nil {
			if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
				writeOAuthError(w, http.StatusRequestEntityTooLarge, "invalid_request",
					"request body exceeds "+strconv.FormatInt(h.opts.maxBody, 10)+" bytes")
				return revokeRequest{}, false
			}
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the request body could not be read")
			return revokeRequest{}, false
		}
	}
	// Tokens of any length are read: one over the limit is inactive, not
	// a malformed request (RFC 7662, section 2.2).
	req, desc := parseForm(body, math.MaxInt, h.opts.maxClientID)
	if desc == "" {
		desc = credentialsProblem(r.Header, req.secret)
	}
	if desc != "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", desc)
		return revokeRequest{}, false
	}
	return req, true
}

// authenticate returns the authenticated client of the request. It answers
// the request itself (401, 500, 503) and returns false when there is none.
func (h *introspection) authenticate(w http.ResponseWriter, r *http.Request, req revokeRequest) (string, bool) {
	client, err := authenticateClient(h.opts.auth, r, req)
	if err == nil {
		return client, true
	}
	if errors.Is(err, ErrInvalidClient) {
		h.opts.log.LogAttrs(r.Context(), slog.LevelInfo, "httpadapter: introspection: client authentication failed",
			slog.String("client_id", req.clientID), slog.Any("err", err))
		w.Header().Set("WWW-Authenticate", challengeClient)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", msgClientAuth)
		return "", false
	}
	h.opts.log.LogAttrs(r.Context(), slog.LevelError, "httpadapter: introspection: client authentication could not be checked",
		slog.String("client_id", req.clientID), slog.Any("err", err))
	h.fail(w, err)
	return "", false
}

// fail answers an error that is no verdict on the token: 503 with
// Retry-After when it may pass (see Unavailable), 500 otherwise.
func (h *introspection) fail(w http.ResponseWriter, err error) {
	if Unavailable(err) {
		w.Header()["Retry-After"] = h.opts.retryAfter
		writeOAuthError(w, http.StatusServiceUnavailable, "temporarily_unavailable", msgTryLater)
		return
	}
	writeOAuthError(w, http.StatusInternalServerError, "server_error", msgInternal)
}
