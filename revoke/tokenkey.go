package revoke

// WithTokenKey makes the Revoker identify a presented token by the key that
// key returns for it, rather than by the token's exact bytes: Issue (Value and
// Parent), Revoke and IsRevoked hash the key, so a record's ID is the SHA-256
// of the key. Tokens with the same key are the same token.
//
// It exists for self-contained tokens such as JWTs, whose string is not
// unique: an ECDSA signature (r, s) is equally valid as (r, n−s), and base64url
// tolerates other spellings (the unused bits of the last character), so a
// holder of a revoked JWT can present the same token as another string, and a
// revocation keyed on the bytes would not see it. Keyed on the token's
// identity (for a JWT, its issuer and ID; see package
// github.com/sdkauth/revocation/jwtkey), every spelling is revoked together.
//
// The key function must be deterministic, safe for concurrent use, and must
// not keep the token. It runs on every IsRevoked call, so it should be cheap.
// When it returns ok == false (or an empty key) the token is not of the form
// the server issues, and the Revoker refuses to vouch for it:
//
//   - Issue returns a *FieldError (field "Value" or "Parent") and stores
//     nothing.
//   - Revoke returns (0, nil) and touches no storage: no such token was ever
//     issued, and RFC 7009 answers an invalid token as a revoked one.
//   - IsRevoked returns true and an error wrapping ErrInvalidToken. The token
//     is refused, never let through: falling back to the raw bytes would let
//     a spelling that the key function cannot parse, but a lenient verifier
//     accepts, slip past a revocation.
//
// Servers that hand out opaque tokens beside JWTs should make their key
// function return a key for both (jwtkey.KeyOrOpaque does), keeping the keys
// of one form from colliding with those of the other.
//
// Without WithTokenKey (or with a nil function) the key of a token is the
// token itself, and IsRevoked does not allocate. Changing the key function of
// an existing store orphans its records: tokens issued under one key function
// are not found under another.
func WithTokenKey(key func(token string) (key string, ok bool)) Option {
	return func(o *options) { o.tokenKey = key }
}

// reasonUnkeyed is the FieldError reason for a token the key function
// refuses.
const reasonUnkeyed = "is not of a form the token key function accepts"

// errUnkeyed is IsRevoked's error for a token the key function refuses. It is
// allocated once so that IsRevoked stays allocation-free.
var errUnkeyed = &FieldError{Field: "token", Reason: reasonUnkeyed}

// tokenKey returns the string a presented token is identified by: its key
// under WithTokenKey, or the token itself. ok is false when the key function
// refuses the token or returns an empty key.
func (r *Revoker) tokenKey(token string) (key string, ok bool) {
	if r.opts.tokenKey == nil {
		return token, true
	}
	key, ok = r.opts.tokenKey(token)
	if !ok || key == "" {
		return "", false
	}
	return key, true
}

// tokenID returns the ID and checksum a presented token is stored under (see
// tokenKey); ok is false when the key function refuses the token. Every
// method that takes a token from a client (Issue, Revoke, IsRevoked, and
// token rotation) must go through it.
func (r *Revoker) tokenID(token string) (id ID, check uint32, ok bool) {
	key, ok := r.tokenKey(token)
	if !ok {
		return ID{}, 0, false
	}
	return TokenID(key), Checksum(key), true
}
