package httpadapter

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/sdkauth/revocation/revoke"
)

// Path is the path the revocation endpoint is documented at. NewHandler does
// not look at the request path; mount it where you like, e.g. with Mount.
const Path = "/v1/auth/token/revoke"

// Revoker revokes a token on behalf of a client and reports how many tokens
// it newly revoked. *revoke.Revoker satisfies it; see its Revoke method for
// the rules and the errors.
type Revoker interface {
	Revoke(ctx context.Context, token, clientID string) (int, error)
}

// Fixed messages of the Error responses; none of them echoes the request.
const (
	msgMethod       = "method not allowed: use POST"
	msgMediaType    = "Content-Type must be application/json or application/x-www-form-urlencoded"
	msgClientAuth   = "client authentication failed"
	msgMismatch     = "token was issued to another client"
	msgInternal     = "internal error"
	msgTryLater     = "temporarily unavailable: retry later"
	challengeClient = `Basic realm="revocation"`
)

// NewHandler returns the http.Handler of the revocation endpoint (see the
// package documentation for the contract) over r. It applies WithLogger,
// WithMaxBodyBytes, WithMaxTokenLength, WithMaxClientIDLength,
// WithClientAuth, WithCORS and WithRetryAfter; for a nil r (a nil
// *revoke.Revoker included), a nil option, an option out of its range or
// one of another constructor (RequireIssued, WithIntrospectionAccess) it
// returns an error wrapping ErrInvalidOption (see Option). The handler is
// safe for concurrent use.
func NewHandler(r Revoker, opts ...Option) (http.Handler, error) {
	if isNil(r) {
		return nil, invalidOption(forHandler, errors.New("nil Revoker"))
	}
	o, err := newOptions(forHandler, opts)
	if err != nil {
		return nil, err
	}
	return &handler{rev: r, opts: o}, nil
}

type handler struct {
	rev  Revoker
	opts options
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := h.origin(r)
	h.setCORS(w, origin, "")
	if !h.originAllowed(r, "") {
		h.refuseOrigin(w, r)
		return
	}
	if origin != "" && h.preflight(w, r, origin) {
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeMessage(w, http.StatusMethodNotAllowed, msgMethod)
		return
	}
	d, ok := dialectOf(r.Header)
	if !ok {
		writeMessage(w, http.StatusUnsupportedMediaType, msgMediaType)
		return
	}
	body, ok := h.readBody(w, r, d)
	if !ok {
		return
	}
	req, ok := h.parse(w, r, d, body)
	if !ok {
		return
	}
	client, ok := h.requester(w, r, d, req)
	if !ok {
		return
	}
	h.setCORS(w, origin, client)
	if !h.originAllowed(r, client) {
		h.refuseOrigin(w, r)
		return
	}
	n, err := h.rev.Revoke(r.Context(), req.token, client)
	h.answer(w, r, d, client, n, err)
}

// readBody reads the request body, up to the limit. It answers the request
// itself (413, 400) and returns false when the body is too large or cannot
// be read.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request, d dialect) ([]byte, bool) {
	if r.Body == nil {
		return nil, true
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.maxBody))
	if err == nil {
		return body, true
	}
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		desc := "request body exceeds " + strconv.FormatInt(h.opts.maxBody, 10) + " bytes"
		if d == dialectForm {
			writeOAuthError(w, http.StatusRequestEntityTooLarge, "invalid_request", desc)
		} else {
			writeMessage(w, http.StatusRequestEntityTooLarge, desc)
		}
		return nil, false
	}
	h.opts.log.LogAttrs(r.Context(), slog.LevelInfo, "httpadapter: reading request body",
		slog.Any("err", err))
	if d == dialectForm {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "the request body could not be read")
	} else {
		writeViolations(w, []violation{{Field: fieldBody, Description: descBodyRead}})
	}
	return nil, false
}

// parse validates the request: its body in its dialect, and its client
// credentials' headers (see credentialsProblem). It answers the request
// itself (400) and returns false when it is invalid.
func (h *handler) parse(w http.ResponseWriter, r *http.Request, d dialect, body []byte) (revokeRequest, bool) {
	if d == dialectForm {
		req, desc := parseForm(body, h.opts.maxToken, h.opts.maxClientID)
		if desc == "" {
			desc = credentialsProblem(r.Header, req.secret)
		}
		if desc != "" {
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", desc)
			return revokeRequest{}, false
		}
		return req, true
	}
	req, vs := parseRequest(body, h.opts.maxToken, h.opts.maxClientID)
	if len(r.Header["Authorization"]) > 1 {
		vs = append(vs, violation{Field: fieldAuthorization, Description: descDuplicate})
	}
	if len(vs) > 0 {
		writeViolations(w, vs)
		return revokeRequest{}, false
	}
	return req, true
}

// answer answers a revocation on behalf of client by the outcome of
// Revoker.Revoke: n tokens newly revoked, or err.
func (h *handler) answer(w http.ResponseWriter, r *http.Request, d dialect, client string, n int, err error) {
	switch {
	case err == nil:
		h.opts.log.LogAttrs(r.Context(), slog.LevelDebug, "httpadapter: revoked",
			slog.String("client_id", client), slog.Int("revoked", n))
		if d == dialectForm {
			writeFormOK(w)
		} else {
			writeBody(w, http.StatusOK, okBody)
		}
	case errors.Is(err, revoke.ErrClientMismatch):
		h.opts.log.LogAttrs(r.Context(), slog.LevelInfo, "httpadapter: revocation refused: token of another client",
			slog.String("client_id", client))
		if d == dialectForm {
			writeOAuthError(w, http.StatusBadRequest, "unauthorized_client", "the token was issued to another client")
		} else {
			writeMessage(w, http.StatusForbidden, msgMismatch)
		}
	case errors.Is(err, revoke.ErrInvalidToken):
		// A rule of the Revoker's that the handler does not repeat (a
		// client ID that is not UTF-8, say): the caller's input, a 400.
		v := fieldViolation(err)
		h.opts.log.LogAttrs(r.Context(), slog.LevelInfo, "httpadapter: revocation refused: invalid input",
			slog.String("field", v.Field), slog.String("reason", v.Description))
		if d == dialectForm {
			name := map[string]string{fieldClientID: paramClientID}[v.Field]
			writeOAuthError(w, http.StatusBadRequest, "invalid_request", cmp.Or(name, paramToken)+" "+v.Description)
		} else {
			writeViolations(w, []violation{v})
		}
	default:
		h.opts.log.LogAttrs(r.Context(), slog.LevelError, "httpadapter: revoke failed",
			slog.String("client_id", client), slog.Any("err", err))
		h.failure(w, d, err)
	}
}

// requester returns the client the request revokes on behalf of: the
// authenticated client with an authenticator, else the client the body
// names. It answers the request itself (401, 500, 503) and returns false when
// there is none.
func (h *handler) requester(w http.ResponseWriter, r *http.Request, d dialect, req revokeRequest) (string, bool) {
	if h.opts.auth == nil {
		if req.clientID == "" || req.secret != "" {
			// No client at all (a form without client_id), or a secret the
			// handler cannot check: configure an authenticator.
			h.opts.log.LogAttrs(r.Context(), slog.LevelInfo, "httpadapter: client authentication failed",
				slog.String("reason", "no client_id, or client_secret without an authenticator"))
			h.unauthorized(w, d)
			return "", false
		}
		return req.clientID, true
	}
	client, err := authenticateClient(h.opts.auth, r, req)
	if err == nil {
		return client, true
	}
	if errors.Is(err, ErrInvalidClient) {
		h.opts.log.LogAttrs(r.Context(), slog.LevelInfo, "httpadapter: client authentication failed",
			slog.String("client_id", req.clientID), slog.Any("err", err))
		h.unauthorized(w, d)
		return "", false
	}
	h.opts.log.LogAttrs(r.Context(), slog.LevelError, "httpadapter: client authentication could not be checked",
		slog.String("client_id", req.clientID), slog.Any("err", err))
	h.failure(w, d, err)
	return "", false
}

// unauthorized answers 401 with the Basic challenge.
func (h *handler) unauthorized(w http.ResponseWriter, d dialect) {
	w.Header().Set("WWW-Authenticate", challengeClient)
	if d == dialectForm {
		writeOAuthError(w, http.StatusUnauthorized, "invalid_client", msgClientAuth)
	} else {
		writeMessage(w, http.StatusUnauthorized, msgClientAuth)
	}
}

// failure answers an error that is no verdict on the request: 503 with
// Retry-After when it may pass (see Unavailable), 500 otherwise. Nothing was
// revoked.
func (h *handler) failure(w http.ResponseWriter, d dialect, err error) {
	status, code, msg := http.StatusInternalServerError, "server_error", msgInternal
	if Unavailable(err) {
		status, code, msg = http.StatusServiceUnavailable, "temporarily_unavailable", msgTryLater
		w.Header()["Retry-After"] = h.opts.retryAfter
	}
	if d == dialectForm {
		writeOAuthError(w, status, code, msg)
	} else {
		writeMessage(w, status, msg)
	}
}

// Unavailable reports whether err is a failure that retrying later may cure,
// which the handler and the middleware answer 503 with Retry-After: a store
// that is unavailable (revoke.ErrUnavailable, e.g. locked past its timeout),
// a Revoker that is closed (revoke.ErrClosed: the server is shutting down),
// or a request's context cancelled or past its deadline.
func Unavailable(err error) bool {
	return errors.Is(err, revoke.ErrUnavailable) || errors.Is(err, revoke.ErrClosed) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// fieldViolation turns an error wrapping revoke.ErrInvalidToken into the
// violation of the request field it names.
func fieldViolation(err error) violation {
	var fe *revoke.FieldError
	if !errors.As(err, &fe) {
		return violation{Field: fieldToken, Description: "is invalid"}
	}
	switch fe.Field {
	case "clientID", "ClientID", fieldClientID:
		return violation{Field: fieldClientID, Description: "is invalid: " + fe.Reason}
	default:
		return violation{Field: fieldToken, Description: "is invalid: " + fe.Reason}
	}
}
