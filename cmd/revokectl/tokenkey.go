package main

import (
	"github.com/sdkauth/revocation/jwtkey"
	"github.com/sdkauth/revocation/revoke"
)

// tokenKeys are the values of --token-key: the key function the servers
// give revoke.WithTokenKey, nil for none (a token is its bytes).
var tokenKeys = map[string]func(token string) (key string, ok bool){
	"raw": nil,
	"jwt": jwtkey.KeyOrOpaque,
}

// keyFunc returns the key function --token-key names (checkFlags validated
// it).
func (a *app) keyFunc() func(string) (string, bool) { return tokenKeys[a.tokenKey] }

// tokenID returns the ID the store holds tok's record under: the SHA-256 of
// its key under --token-key, as the Revoker computes it.
func (a *app) tokenID(tok string) (revoke.ID, error) {
	key := a.keyFunc()
	if key == nil {
		return revoke.TokenID(tok), nil
	}
	k, ok := key(tok)
	if !ok || k == "" {
		return revoke.ID{}, usagef("--token-key %s: the token is neither a JWT with a \"jti\" claim nor an opaque token (no '.'): a server with this key function never issued it", a.tokenKey)
	}
	return revoke.TokenID(k), nil
}

// jwtHint returns, for a token not found, a line saying that it looks like
// a JWT that --token-key raw searched for by its bytes, where servers keying
// tokens with jwtkey store it by issuer and jti; "" otherwise.
func (a *app) jwtHint(tok string) string {
	if a.keyFunc() != nil {
		return ""
	}
	if _, ok := jwtkey.Key(tok); !ok {
		return ""
	}
	return "revokectl: hint: the token looks like a JWT, and the store was searched for its exact bytes; " +
		"servers running with revoke.WithTokenKey(jwtkey.KeyOrOpaque) store it by issuer and jti: " +
		"give --token-key jwt (or set REVOKE_TOKEN_KEY=jwt)"
}
