package httpadapter

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// violation is one entry of a 400 response: the ValidationError body's
// FieldViolation.
type violation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

// validationError is the body of a 400 response.
type validationError struct {
	Violations []violation `json:"violations"`
}

// errorBody is the body of every other error response.
type errorBody struct {
	Message string `json:"message"`
}

// okBody is the body of a 200 response: an empty JSON object.
var okBody = []byte("{}\n")

// Header values set on every response. They are slices shared by all
// responses, so setting them does not allocate; net/http only reads them.
var (
	hdrJSON    = []string{"application/json"}
	hdrNoStore = []string{"no-store"}
	hdrNoCache = []string{"no-cache"}
	hdrNoSniff = []string{"nosniff"}
)

// setCommonHeaders sets the headers every response of the package carries:
// the JSON media type and the cache headers RFC 6749 section 5.1 asks of
// responses that concern tokens.
func setCommonHeaders(h http.Header) {
	h["Content-Type"] = hdrJSON
	h["Cache-Control"] = hdrNoStore
	h["Pragma"] = hdrNoCache
	h["X-Content-Type-Options"] = hdrNoSniff
}

// writeBody writes a response with the common headers, status and body.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	setCommonHeaders(h)
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeMessage writes an Error body {"message": msg}.
func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeBody(w, status, mustMarshal(errorBody{Message: msg}))
}

// writeViolations writes a 400 response listing vs, which must not be
// empty.
func writeViolations(w http.ResponseWriter, vs []violation) {
	writeBody(w, http.StatusBadRequest, mustMarshal(validationError{Violations: vs}))
}

// mustMarshal encodes v, whose types (structs of strings) cannot fail to
// encode, followed by a newline, so that the body ends its line in a
// terminal.
func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("httpadapter: encoding a response: " + err.Error())
	}
	return append(b, '\n')
}
