package httpadapter

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
)

// Descriptions of the violations the handler reports. They are fixed
// strings: no part of the request is ever echoed back.
const (
	descRequired   = "required field missing"
	descNotString  = "must be a string"
	descEmpty      = "must not be empty"
	descDuplicate  = "must appear only once"
	descBodyEmpty  = "required request body missing"
	descBodyJSON   = "must be valid JSON"
	descBodyObject = "must be a JSON object"
	descBodyTrail  = "must hold a single JSON object and nothing after it"
	descBodyRead   = "could not be read"
)

// Field names of the request body, as the OpenAPI document spells them.
const (
	fieldToken    = "token"
	fieldClientID = "clientId"
	fieldBody     = "body"
	// fieldAuthorization is the field of a violation of the Authorization
	// header: the header's name, as the SDK's ValidationError names
	// headers.
	fieldAuthorization = "Authorization"
)

// revokeRequest is a validated request body.
type revokeRequest struct {
	token    string
	clientID string // as the body names it; "" if it does not (form only)
	secret   string // the form's client_secret, or ""
}

// field is one of the two fields of the body as it was found.
type field struct {
	raw   json.RawMessage
	count int
	// folded counts the members whose names equal the field's only
	// case-insensitively ("Token", "clientID").
	folded int
}

// parseRequest decodes and validates the body. It returns every violation
// it finds: a single one for field "body" when the body is not one JSON
// object, otherwise at most one per field.
//
// Field names match exactly ("Token" is an unknown field). Unknown fields are
// ignored. A field that appears more than once is a violation of that field,
// whatever its values: parsers disagree on which of the duplicates wins (Go
// keeps the last, others the first), and a revocation must not depend on it.
// For the same reason a field that appears beside a member whose name
// differs from it only in case is a duplicate: encoding/json matches names
// case-insensitively, so a proxy decoding {"token":"a","Token":"b"} with it
// would see "b" where the handler revokes "a".
func parseRequest(body []byte, maxToken, maxClientID int) (revokeRequest, []violation) {
	var tok, cid field
	if v := scanObject(body, func(key string, raw json.RawMessage) {
		switch {
		case key == fieldToken:
			tok.raw, tok.count = raw, tok.count+1
		case key == fieldClientID:
			cid.raw, cid.count = raw, cid.count+1
		case strings.EqualFold(key, fieldToken):
			tok.folded++
		case strings.EqualFold(key, fieldClientID):
			cid.folded++
		}
	}); v != "" {
		return revokeRequest{}, []violation{{Field: fieldBody, Description: v}}
	}
	var (
		req revokeRequest
		vs  []violation
	)
	var desc string
	if req.token, desc = stringField(tok, maxToken); desc != "" {
		vs = append(vs, violation{Field: fieldToken, Description: desc})
	}
	if req.clientID, desc = stringField(cid, maxClientID); desc != "" {
		vs = append(vs, violation{Field: fieldClientID, Description: desc})
	}
	return req, vs
}

// scanObject checks that body is exactly one JSON object and calls fn for
// each of its members in order. It returns the description of the body's
// violation, or "".
func scanObject(body []byte, fn func(key string, raw json.RawMessage)) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return descBodyEmpty
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	t, err := dec.Token()
	if err != nil {
		return descBodyJSON
	}
	if t != json.Delim('{') {
		return descBodyObject
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return descBodyJSON
		}
		key, ok := t.(string)
		if !ok { // the decoder allows only strings as keys; defensive
			return descBodyJSON
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return descBodyJSON
		}
		fn(key, raw)
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return descBodyJSON
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return descBodyTrail
	}
	return ""
}

// stringField returns the value of a field that must be a non-empty string
// of at most max bytes, or the description of its violation.
func stringField(f field, max int) (string, string) {
	switch {
	case f.count == 0:
		return "", descRequired
	case f.count > 1 || f.folded > 0:
		return "", descDuplicate
	case len(f.raw) == 0 || f.raw[0] != '"':
		return "", descNotString
	}
	var s string
	if err := json.Unmarshal(f.raw, &s); err != nil {
		return "", descNotString
	}
	switch {
	case s == "":
		return "", descEmpty
	case len(s) > max:
		return "", "must be at most " + strconv.Itoa(max) + " bytes"
	}
	return s, ""
}
