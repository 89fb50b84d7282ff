// Package jwtkey identifies JWT access tokens by their issuer and ID, for
// revoke.WithTokenKey, so that a revoked JWT stays revoked however it is
// spelled.
//
// A JWT's string is not unique. An ECDSA signature (r, s) verifies as well as
// (r, n−s); base64url lets the last character of a segment carry unused bits
// that decoders ignore; some libraries accept padding. A holder of a revoked
// JWT can therefore present it as another string that the server still
// accepts, and a revocation keyed on the string (its SHA-256) misses it. Key
// names the token by what it is: the "iss" and "jti" claims of its payload.
//
//	r, err := revoke.New(store, revoke.WithTokenKey(jwtkey.KeyOrOpaque))
//
// With it, Issue, Revoke and IsRevoked treat every spelling of a JWT as one
// token, and a JWT the server never recorded can be deny-listed by its claims
// alone:
//
//	_, err = r.RevokeUntracked(ctx, jwtkey.For(iss, jti), clientID, exp)
//
// # Caveats
//
// Key DOES NOT VERIFY THE TOKEN. It reads the claims of an unverified payload:
// anyone can write a JWT with any "iss" and "jti". That is safe for deciding
// whether a token is revoked (a forged token naming a revoked jti is reported
// revoked, which is no loss), but IsRevoked returning false says nothing about
// whether the token is genuine. The server must still verify the signature,
// the algorithm, the issuer, the audience and the expiry with its JWT
// library, on every request, as it would without this package.
//
// For the same reason a JWT's issuer and jti stand for the token in every
// call that takes one. A forged JWT (any header, any other claims, any or
// no signature) naming the issuer and jti of an issued token is that token:
// Lookup, and so the introspection endpoint and httpadapter.RequireIssued,
// describe the genuine token's record (live, with its client and subject),
// and Revoke on behalf of the genuine token's client revokes it (RFC 7009's
// check that the token was issued to the requesting client still applies).
// Whoever knows a token's issuer, jti and client can therefore revoke it
// without holding it: draw every jti at random (128 bits or more), keep it
// as private as the token, and authenticate the clients that revoke. Verify
// a JWT before trusting any claim of it that the Revoker's record does not
// hold (scopes, audience).
//
// Every JWT the server issues must carry a "jti" unique per issuer (RFC 7519,
// section 4.1.7): Key refuses a JWT without one, and two tokens with the same
// issuer and jti are one token to the Revoker. A token Key refuses is
// reported revoked by IsRevoked (with an error wrapping
// revoke.ErrInvalidToken), so a server that turns the key function on must
// issue only tokens it accepts. Changing the key function of an existing
// store orphans the records issued before: revoke the old tokens, or let them
// expire, first.
//
// Key reads only compact JWS (three segments); an encrypted JWT (JWE, five
// segments) is refused.
package jwtkey
