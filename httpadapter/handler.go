package httpadapter

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/sdkauth/revocation/revoke"
)

// Path is the path the revocation endpoint is documented at. NewHandler does
// not look at the request path; mount it where you like, e.g.
//
//	mux.Handle(httpadapter.Path, httpadapter.NewHandler(rev))
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
	msgMediaType    = "Content-Type must be application/json"
	msgClientAuth   = "client authentication failed"
	msgMismatch     = "token was issued to another client"
	msgInternal     = "internal error"
	challengeClient = `Basic realm="revocation"`
)

// NewHandler returns the http.Handler of the revocation endpoint (see the
// package documentation for the contract) over r. It panics if r is nil.
// The handler is safe for concurrent use.
func NewHandler(r Revoker, opts ...Option) http.Handler {
	if r == nil {
		panic("httpadapter: NewHandler: nil Revoker")
	}
	return &handler{rev: r, opts: newOptions(opts)}
}

type handler struct {
	rev  Revoker
	opts options
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeMessage(w, http.StatusMethodNotAllowed, msgMethod)
		return
	}
	if !isJSON(r.Header) {
		writeMessage(w, http.StatusUnsupportedMediaType, msgMediaType)
		return
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.maxBody))
		if err != nil {
			if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
				writeMessage(w, http.StatusRequestEntityTooLarge,
					"request body exceeds "+strconv.FormatInt(h.opts.maxBody, 10)+" bytes")
				return
			}
			h.opts.log.LogAttrs(r.Context(), slog.LevelInfo, "httpadapter: reading request body",
				slog.Any("err", err))
			writeViolations(w, []violation{{Field: fieldBody, Description: descBodyRead}})
			return
		}
	}
	req, vs := parseRequest(body, h.opts.maxToken, h.opts.maxClientID)
	if len(vs) > 0 {
		writeViolations(w, vs)
		return
	}
	if h.opts.auth != nil {
		if err := h.opts.auth(r, req.clientID); err != nil {
			h.opts.log.LogAttrs(r.Context(), slog.LevelInfo, "httpadapter: client authentication failed",
				slog.String("client_id", req.clientID), slog.Any("err", err))
			w.Header().Set("WWW-Authenticate", challengeClient)
			writeMessage(w, http.StatusUnauthorized, msgClientAuth)
			return
		}
	}
	n, err := h.rev.Revoke(r.Context(), req.token, req.clientID)
	switch {
	case err == nil:
		h.opts.log.LogAttrs(r.Context(), slog.LevelDebug, "httpadapter: revoked",
			slog.String("client_id", req.clientID), slog.Int("revoked", n))
		writeBody(w, http.StatusOK, okBody)
	case errors.Is(err, revoke.ErrClientMismatch):
		h.opts.log.LogAttrs(r.Context(), slog.LevelInfo, "httpadapter: revocation refused: token of another client",
			slog.String("client_id", req.clientID))
		writeMessage(w, http.StatusForbidden, msgMismatch)
	case errors.Is(err, revoke.ErrInvalidToken):
		// The handler's own validation should have caught it.
		h.opts.log.LogAttrs(r.Context(), slog.LevelWarn, "httpadapter: revoker rejected validated input",
			slog.Any("err", err))
		writeViolations(w, []violation{fieldViolation(err)})
	default:
		h.opts.log.LogAttrs(r.Context(), slog.LevelError, "httpadapter: revoke failed",
			slog.String("client_id", req.clientID), slog.Any("err", err))
		writeMessage(w, http.StatusInternalServerError, msgInternal)
	}
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
