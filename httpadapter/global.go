package httpadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/sdkauth/revocation/revoke"
)

// GlobalRevocationPath is where the examples mount the Global Token
// Revocation endpoint; the draft leaves the path to the server, which
// publishes it as global_token_revocation_endpoint in its metadata.
const GlobalRevocationPath = "/v1/auth/global-token-revocation"

// maxGlobalBody is the largest request body the endpoint reads.
const maxGlobalBody = 8 << 10

// SubjectRevoker revokes every grant of a subject; *revoke.Revoker is one.
type SubjectRevoker interface {
	RevokeSubject(ctx context.Context, subject string) (int, error)
}

// SubjectID is a Security Event Token subject identifier (RFC 9493) of one
// of the formats the endpoint takes: "iss_sub" (Iss and Sub), "email"
// (Email) or "opaque" (ID).
type SubjectID struct {
	// Format is "iss_sub", "email" or "opaque".
	Format string `json:"format"`
	// Iss is the issuer of an "iss_sub" identifier.
	Iss string `json:"iss,omitempty"`
	// Sub is the subject of an "iss_sub" identifier, as Iss knows it.
	Sub string `json:"sub,omitempty"`
	// Email is the address of an "email" identifier.
	Email string `json:"email,omitempty"`
	// ID is the value of an "opaque" identifier.
	ID string `json:"id,omitempty"`
}

// check reports what is missing from id, or "" when it is complete.
func (id SubjectID) check() string {
	switch id.Format {
	case "iss_sub":
		if id.Iss == "" || id.Sub == "" {
			return "an iss_sub identifier needs iss and sub"
		}
	case "email":
		if id.Email == "" {
			return "an email identifier needs email"
		}
	case "opaque":
		if id.ID == "" {
			return "an opaque identifier needs id"
		}
	case "":
		return "sub_id needs a format"
	default:
		return "unsupported subject identifier format"
	}
	return ""
}

// NewGlobalRevocationHandler returns the Global Token Revocation endpoint
// (draft-parecki-oauth-global-token-revocation-06) over rv: an
// authenticated party (a security tool, the user's identity provider)
// posts
//
//	POST /v1/auth/global-token-revocation HTTP/1.1
//	Content-Type: application/json
//	Authorization: Bearer <credential>
//
//	{"sub_id": {"format": "iss_sub", "iss": "https://as.example", "sub": "alice"}}
//
// and every grant of that user is revoked (RevokeSubject: refresh and
// access tokens, on every client). The formats are "iss_sub", "email" and
// "opaque" (RFC 9493); "iss_sub" with the issuer of WithGlobalIssuer names
// the subject directly, the others go through WithSubjectResolver.
//
// The answers: 204 once every grant is revoked; 400 for a body that is not
// a JSON object with a complete sub_id, or a format the handler does not
// take ("email" and "opaque" without a resolver included); 401 with WWW-Authenticate: Bearer
// without a bearer token or when the check says ErrCallerUnauthenticated;
// 403 when it says ErrCallerForbidden; 404 when the resolver says
// ErrSubjectNotFound (or, without a resolver, for an "iss_sub" of another
// issuer); 405 for a method other than POST; 413 for a body
// over 8 KiB; 415 for a Content-Type other than application/json; 503 with
// Retry-After when the store is unavailable (retry: what was revoked
// stays revoked); 500 for any other failure. Error bodies are JSON
// {"message"}; no response body repeats the request.
//
// WithGlobalAuth is required (the draft requires the request to be
// authenticated), and one of WithSubjectResolver and WithGlobalIssuer;
// without them, with a nil rv, a nil option or an option given a value it
// does not take, it returns an error wrapping ErrInvalidOption.
func NewGlobalRevocationHandler(rv SubjectRevoker, opts ...GlobalOption) (http.Handler, error) {
	if isNil(rv) {
		return nil, fmt.Errorf("httpadapter: NewGlobalRevocationHandler: nil SubjectRevoker: %w", ErrInvalidOption)
	}
	o, err := newGlobalOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("httpadapter: NewGlobalRevocationHandler: %w: %w", err, ErrInvalidOption)
	}
	return &globalHandler{rv: rv, o: o}, nil
}

type globalHandler struct {
	rv SubjectRevoker
	o  globalOptions
}

func (h *globalHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeMessage(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	bearer, ok := h.bearer(w, r)
	if !ok {
		return
	}
	id, ok := h.read(w, r)
	if !ok {
		return
	}
	if err := h.o.auth(r.Context(), bearer, id); err != nil {
		h.refuse(w, err)
		return
	}
	subject, err := h.subject(r.Context(), id)
	if err != nil {
		h.unresolved(w, err)
		return
	}
	if _, err := h.rv.RevokeSubject(r.Context(), subject); err != nil {
		h.failed(w, err)
		return
	}
	setCommonHeaders(w.Header())
	w.Header().Del("Content-Type")
	w.WriteHeader(http.StatusNoContent)
}

// bearer returns the request's bearer token, or answers 401 (400 for
// more than one Authorization header).
func (h *globalHandler) bearer(w http.ResponseWriter, r *http.Request) (string, bool) {
	values := r.Header.Values("Authorization")
	if len(values) > 1 {
		writeMessage(w, http.StatusBadRequest, "more than one Authorization header")
		return "", false
	}
	var token string
	if len(values) == 1 {
		token, _ = parseBearer(values[0])
	}
	if token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="global-token-revocation"`)
		writeMessage(w, http.StatusUnauthorized, "a bearer token is required")
		return "", false
	}
	return token, true
}

// read reads and validates the request body, or answers 400, 413 or 415.
func (h *globalHandler) read(w http.ResponseWriter, r *http.Request) (SubjectID, bool) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" || (params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		writeMessage(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return SubjectID{}, false
	}
	var body struct {
		SubID *SubjectID `json:"sub_id"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxGlobalBody))
	if err = dec.Decode(&body); err == nil {
		err = endOfBody(dec)
	}
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeMessage(w, http.StatusRequestEntityTooLarge, "request body too large")
		return SubjectID{}, false
	case err != nil:
		writeMessage(w, http.StatusBadRequest, "the body must be one JSON object with a sub_id object")
		return SubjectID{}, false
	case body.SubID == nil:
		writeMessage(w, http.StatusBadRequest, "sub_id is required")
		return SubjectID{}, false
	}
	if msg := body.SubID.check(); msg != "" {
		writeMessage(w, http.StatusBadRequest, msg)
		return SubjectID{}, false
	}
	return *body.SubID, true
}

// endOfBody returns nil when dec has nothing left but white space, and an
// error for anything else after the object: another value, or a stray
// closing bracket that dec.More would let pass.
func endOfBody(dec *json.Decoder) error {
	_, err := dec.Token()
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return err
	}
	return errTrailingData
}

// errTrailingData is endOfBody's error for a value after the object.
var errTrailingData = errors.New("httpadapter: data after the JSON object")

// refuse answers the verdict of the caller check.
func (h *globalHandler) refuse(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrCallerUnauthenticated):
		w.Header().Set("WWW-Authenticate", `Bearer realm="global-token-revocation", error="invalid_token"`)
		writeMessage(w, http.StatusUnauthorized, "the bearer token is not valid")
	case errors.Is(err, ErrCallerForbidden):
		w.Header().Set("WWW-Authenticate", `Bearer realm="global-token-revocation", error="insufficient_scope"`)
		writeMessage(w, http.StatusForbidden, "the caller may not revoke this subject's tokens")
	default:
		h.failed(w, fmt.Errorf("checking the caller: %w", err))
	}
}

// errUnsupported is a subject identifier the handler cannot resolve.
var errUnsupported = errors.New("unsupported")

// subject resolves id to the subject of the server's tokens.
func (h *globalHandler) subject(ctx context.Context, id SubjectID) (string, error) {
	if id.Format == "iss_sub" && h.o.issuer != "" && id.Iss == h.o.issuer {
		return id.Sub, nil
	}
	if h.o.resolve == nil {
		if id.Format == "iss_sub" {
			return "", ErrSubjectNotFound // a user of another issuer, which no resolver maps
		}
		return "", errUnsupported
	}
	s, err := h.o.resolve(ctx, id)
	if err == nil && s == "" {
		err = ErrSubjectNotFound // an empty subject would name every token without one
	}
	return s, err
}

// unresolved answers a subject identifier that resolves to no subject.
func (h *globalHandler) unresolved(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, errUnsupported):
		writeMessage(w, http.StatusBadRequest, "unsupported subject identifier")
	case errors.Is(err, ErrSubjectNotFound):
		writeMessage(w, http.StatusNotFound, "subject not found")
	default:
		h.failed(w, fmt.Errorf("resolving the subject: %w", err))
	}
}

// failed answers a failure: 400 for a subject the Revoker refuses, 503
// with Retry-After when it may pass, 500 otherwise.
func (h *globalHandler) failed(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, revoke.ErrInvalidToken):
		writeMessage(w, http.StatusBadRequest, "the subject is not valid")
	case Unavailable(err):
		h.o.log.Warn("global token revocation: unavailable", "err", err)
		w.Header()["Retry-After"] = h.o.retryAfter
		writeMessage(w, http.StatusServiceUnavailable, msgTryLater)
	default:
		h.o.log.Error("global token revocation failed", "err", err)
		writeMessage(w, http.StatusInternalServerError, "internal error")
	}
}
