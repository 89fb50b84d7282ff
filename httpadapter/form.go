package httpadapter

import (
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// dialect is the request format a request is answered in, chosen by its
// Content-Type.
type dialect int

const (
	// dialectJSON is the SDK's contract: a JSON body, SDK error shapes.
	dialectJSON dialect = iota
	// dialectForm is RFC 7009: a form body, RFC 6749 error shapes.
	dialectForm
)

const formType = "application/x-www-form-urlencoded"

// dialectOf returns the dialect of a request's Content-Type:
// application/json or application/x-www-form-urlencoded, with any
// parameters, a charset (if given) of UTF-8. A missing or repeated
// Content-Type, or another type, is neither.
func dialectOf(h http.Header) (dialect, bool) {
	v := h["Content-Type"]
	if len(v) != 1 {
		return 0, false
	}
	mt, params, err := mime.ParseMediaType(v[0])
	if err != nil {
		return 0, false
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return 0, false
	}
	switch mt {
	case "application/json":
		return dialectJSON, true
	case formType:
		return dialectForm, true
	}
	return 0, false
}

// Form parameter names (RFC 7009, section 2.1; RFC 6749, section 2.3.1).
const (
	paramToken    = "token"
	paramHint     = "token_type_hint"
	paramClientID = "client_id"
	paramSecret   = "client_secret"
)

// parseForm decodes and validates a form body. It returns the request, or
// the error_description of its invalid_request. As RFC 6749, section 3.1
// asks, a parameter sent without a value is treated as omitted, and one
// sent more than once is an error. The hint is read and checked, and then
// ignored: the Revoker finds a token whatever its kind (RFC 7009, section
// 2.1 lets the server extend its search beyond the hint, and an unknown hint
// is not an error). Unknown parameters are ignored, and so is the URL's query
// string: credentials and tokens belong in the body.
func parseForm(body []byte, maxToken, maxClientID int) (revokeRequest, string) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return revokeRequest{}, "the body is not a valid form (application/x-www-form-urlencoded)"
	}
	one := func(name string) (string, string) {
		v := vals[name]
		switch {
		case len(v) > 1:
			return "", "parameter " + name + " must appear only once"
		case len(v) == 0:
			return "", ""
		}
		return v[0], ""
	}
	var req revokeRequest
	var desc string
	if req.token, desc = one(paramToken); desc != "" {
		return revokeRequest{}, desc
	}
	if _, desc = one(paramHint); desc != "" {
		return revokeRequest{}, desc
	}
	if req.clientID, desc = one(paramClientID); desc != "" {
		return revokeRequest{}, desc
	}
	if req.secret, desc = one(paramSecret); desc != "" {
		return revokeRequest{}, desc
	}
	switch {
	case req.token == "":
		return revokeRequest{}, "parameter token is missing"
	case len(req.token) > maxToken:
		return revokeRequest{}, "parameter token must be at most " + strconv.Itoa(maxToken) + " bytes"
	case len(req.clientID) > maxClientID:
		return revokeRequest{}, "parameter client_id must be at most " + strconv.Itoa(maxClientID) + " bytes"
	case len(req.secret) > maxSecretLength:
		return revokeRequest{}, "parameter client_secret must be at most " + strconv.Itoa(maxSecretLength) + " bytes"
	}
	return req, ""
}

// maxSecretLength bounds a form's client_secret.
const maxSecretLength = 1024

// oauthError is the body of an error response of the form dialect (RFC
// 6749, section 5.2).
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// writeOAuthError writes an RFC 6749 error body.
func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeBody(w, status, mustMarshal(oauthError{Error: code, Description: desc}))
}

// writeFormOK writes the form dialect's success: 200 with an empty body
// (RFC 7009, section 2.2), not cacheable.
func writeFormOK(w http.ResponseWriter) {
	h := w.Header()
	h["Cache-Control"] = hdrNoStore
	h["Pragma"] = hdrNoCache
	h["X-Content-Type-Options"] = hdrNoSniff
	h["Content-Length"] = hdrZero
	w.WriteHeader(http.StatusOK)
}

var hdrZero = []string{"0"}
