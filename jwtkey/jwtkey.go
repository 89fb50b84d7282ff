package jwtkey

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"

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
	payload = strings.TrimRight(payload, "=")
	dst := make([]byte, base64.RawURLEncoding.DecodedLen(len(payload)))
	n, err := base64.RawURLEncoding.Decode(dst, []byte(payload))
	if err != nil {
		return "", false
	}
	iss, jti, err := claims(dst[:n])
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
// duplicate wins. The payload is checked whole with json.Valid first, so the
// scan below walks well-formed JSON only; it skips other members without
// decoding them.
func claims(p []byte) (iss, jti string, err error) {
	if !json.Valid(p) {
		return "", "", errClaims
	}
	i := skipSpace(p, 0)
	if p[i] != '{' {
		return "", "", errClaims
	}
	i++
	var seenIss, seenJti bool
	for {
		i = skipSpace(p, i)
		switch p[i] {
		case '}':
			return iss, jti, nil
		case ',':
			i = skipSpace(p, i+1)
		}
		kEnd := stringEnd(p, i)
		key := p[i:kEnd]
		i = skipSpace(p, kEnd) // at ':'
		i = skipSpace(p, i+1)
		vEnd := valueEnd(p, i)
		val := p[i:vEnd]
		i = vEnd
		var dst *string
		switch name := unquoteKey(key); name {
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
		if dst != nil {
			if *dst, err = stringValue(val); err != nil {
				return "", "", err
			}
		}
	}
}

func skipSpace(p []byte, i int) int {
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the JSON string starting at p[i].
func stringEnd(p []byte, i int) int {
	for j := i + 1; j < len(p); j++ {
		switch p[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(p)
}

// valueEnd returns the index after the JSON value starting at p[i].
func valueEnd(p []byte, i int) int {
	switch p[i] {
	case '"':
		return stringEnd(p, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(p); j++ {
			switch p[j] {
			case '"':
				j = stringEnd(p, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return len(p)
	}
	j := i
	for j < len(p) && p[j] != ',' && p[j] != '}' && p[j] != ']' && p[j] != ' ' &&
		p[j] != '\t' && p[j] != '\n' && p[j] != '\r' {
		j++
	}
	return j
}

// unquoteKey returns the member name of a quoted JSON string: "iss" or
// "jti" when it is one (however escaped), "" or another name otherwise.
func unquoteKey(q []byte) string {
	if bytes.IndexByte(q, '\\') < 0 {
		switch string(q[1 : len(q)-1]) { // compared without allocating
		case "iss":
			return "iss"
		case "jti":
			return "jti"
		}
		return ""
	}
	var s string
	_ = json.Unmarshal(q, &s) // valid JSON: cannot fail
	return s
}

// stringValue decodes a JSON value that must be a string.
func stringValue(v []byte) (string, error) {
	if len(v) == 0 || v[0] != '"' {
		return "", errClaims
	}
	// Escapes and bytes that are not UTF-8 (which encoding/json, like the
	// JWT library that hands the server its claims, turns into U+FFFD) take
	// the slow path, so that Key agrees with For over the decoded claims.
	if bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v) {
		return string(v[1 : len(v)-1]), nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", errClaims
	}
	return s, nil
}
