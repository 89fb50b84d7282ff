package jwtkey

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/sdkauth/revocation/revoke"
)

// prefix starts every key For builds. Its NUL byte keeps JWT keys apart from
// the opaque tokens KeyOrOpaque passes through, which never hold one.
const prefix = "\x00jwt:"

// For returns the key of the JWT whose "iss" claim is iss and whose "jti"
// claim is jti: the key Key returns for it, and the one to give
// revoke.Revoker.RevokeUntracked to deny-list that token. The issuer's length
// is part of the key, so no two (iss, jti) pairs share one.
func For(iss, jti string) string {
	return prefix + strconv.Itoa(len(iss)) + ":" + iss + jti
}

// Key returns the key of a JWT in compact JWS form (header.payload.signature)
// from the "iss" and "jti" claims of its payload, without verifying anything
// (see the package documentation). Its signature and header are not read, so
// every spelling of one token has one key. ok is false for anything else: not
// three segments, a payload that is not base64url of one JSON object, a
// missing or empty "jti", an "iss" or "jti" that is not a string or appears
// twice, or a token longer than revoke.MaxTokenLength. A missing "iss" is the
// empty issuer. The payload's base64url may be padded or not, and may have
// unused bits set: decoders differ there, and Key accepts what the most
// lenient of them accepts.
func Key(token string) (key string, ok bool) {
	if len(token) > revoke.MaxTokenLength {
		return "", false
	}
	_, rest, ok := strings.Cut(token, ".")
	if !ok {
		return "", false
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(sig, '.') >= 0 {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(payload, "="))
	if err != nil {
		return "", false
	}
	iss, jti, err := claims(raw)
	if err != nil || jti == "" {
		return "", false
	}
	return For(iss, jti), true
}

// KeyOrOpaque is Key for a server that hands out opaque tokens beside JWTs:
// a token without a '.' is opaque and is its own key; a token with a '.' must
// be a JWT Key accepts. An opaque token holding a NUL byte is refused, so
// that no opaque token can take a JWT's key. On opaque tokens it does not
// allocate.
func KeyOrOpaque(token string) (key string, ok bool) {
	if strings.IndexByte(token, '.') < 0 {
		if strings.IndexByte(token, 0) >= 0 {
			return "", false
		}
		return token, true
	}
	return Key(token)
}

var errClaims = errors.New("jwtkey: bad claims")

// claims returns the "iss" and "jti" members of the JSON object payload.
// Member names match exactly (after JSON unescaping), as RFC 7519 asks; a
// member repeated is an error, since JSON parsers disagree on which
// duplicate wins.
func claims(payload []byte) (iss, jti string, err error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", "", errClaims
	}
	var seenIss, seenJti bool
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", "", errClaims
		}
		name, _ := t.(string)
		var dst *string
		switch name {
		case "iss":
			if seenIss {
				return "", "", errClaims
			}
			seenIss, dst = true, &iss
		case "jti":
			if seenJti {
				return "", "", errClaims
			}
			seenJti, dst = true, &jti
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return "", "", errClaims
		}
		if dst != nil {
			if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, dst) != nil {
				return "", "", errClaims
			}
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return "", "", errClaims
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", "", errClaims
	}
	return iss, jti, nil
}
