// Package httpadapter puts a revoke.Revoker on HTTP: a handler for the
// token revocation endpoint, and a middleware that turns away requests whose
// bearer token has been revoked.
//
// The package translates HTTP only. Every rule about tokens (who may revoke
// what, the cascade from a refresh token to its grant, what counts as
// expired) lives in package revoke; the handler decodes and validates the
// request, calls Revoker.Revoke, and maps its outcome to a status code. Any
// type with the Revoke or IsRevoked method can stand in for *revoke.Revoker.
//
// # The endpoint
//
// NewHandler serves POST /v1/auth/token/revoke (Path), as the SDK's OpenAPI
// bundle specifies it; the package's own OpenAPI document, OpenAPI, describes
// every response below. The request is
//
//	POST /v1/auth/token/revoke HTTP/1.1
//	Content-Type: application/json
//
//	{"token": "<access or refresh token>", "clientId": "<client id>"}
//
// and the responses are:
//
//   - 200 {} when the token is revoked: now, before, or it was never issued
//     or has already expired (RFC 7009, section 2.2: the client cannot
//     tell, and need not). Revoking a refresh token revokes its whole grant,
//     every access token minted from it included.
//   - 400 {"violations":[{"field":...,"description":...}]} listing every
//     violation, at most one per field: "token" or "clientId" missing, not a
//     string (numbers, null, ...), empty, longer than the limit
//     (WithMaxTokenLength, WithMaxClientIDLength), or given twice; or a single
//     violation of field "body" when the body is not exactly one JSON object
//     (empty, malformed, truncated, null, an array, a string, or followed by
//     more data).
//   - 401 {"message":...} with WWW-Authenticate: Basic realm="revocation"
//     when a client authenticator (WithClientAuthenticator) rejects the
//     request. Nothing is revoked.
//   - 403 {"message":...} when the token was issued to another client
//     (revoke.ErrClientMismatch). Nothing is revoked.
//   - 405 {"message":...} with Allow: POST for any other method.
//   - 413 {"message":...} for a body over the limit (WithMaxBodyBytes,
//     64 KiB by default).
//   - 415 {"message":...} when the Content-Type is missing, repeated, or not
//     application/json; parameters are allowed, but a charset must be UTF-8.
//   - 500 {"message":"internal error"} for any other error of the Revoker (a
//     storage failure, a closed Revoker). The details go to the logger
//     (WithLogger), never to the client, and nothing was revoked: the client
//     may retry.
//
// Every response carries Content-Type: application/json, Cache-Control:
// no-store, Pragma: no-cache and X-Content-Type-Options: nosniff. No response
// repeats any part of the request.
//
// Field names match exactly: "Token" or "client_id" are unknown fields, and
// unknown fields are ignored. A field given more than once is a violation of
// that field, even when the values agree: JSON parsers disagree on which
// duplicate wins, and a proxy that checked the first must not see the second
// revoked. The token is used exactly as sent (no trimming); JSON escapes are
// decoded first.
//
// # The middleware
//
// Middleware checks the bearer token of each request (Authorization: Bearer,
// RFC 6750) with IsRevoked: a revoked token gets 401 with WWW-Authenticate:
// Bearer error="invalid_token"; malformed Bearer credentials get 400 with
// error="invalid_request"; a failing check gets 503 (it fails closed).
// Requests without a bearer token pass through untouched. See Middleware.
//
// # Departures from RFC 7009
//
// The endpoint follows the SDK's contract, which departs from RFC 7009 in
// these ways:
//
//   - The body is JSON, not application/x-www-form-urlencoded, and the
//     client names itself in a "clientId" field of the body rather than by
//     authenticating with client_id (RFC 6749, section 2.3).
//   - The token_type_hint parameter is not part of the contract; a
//     "token_type_hint" member is ignored like any unknown field. The
//     Revoker finds the token whatever its kind.
//   - A success answers 200 with the body {}, not an empty body.
//   - A token issued to another client is refused with 403 and an Error
//     body, where RFC 7009 leaves the response to the error format of RFC
//     6749 (400 with an "error" code). Validation errors are likewise the
//     SDK's ValidationError, not {"error":"invalid_request"}.
//   - Errors never carry the RFC 6749 "error" member, and there is no 503
//     with Retry-After (RFC 7009, section 2.2.1): a failure is a 500.
//
// # Caveats
//
// Without WithClientAuthenticator the clientId of the body is asserted, not
// proven: anyone who holds a token and knows the client it was issued to can
// revoke it. That is all a token holder can do with a token anyway, so the
// endpoint cannot be used to revoke tokens one does not hold, but RFC 7009
// requires confidential clients to authenticate; production servers should
// configure an authenticator.
//
// The 403 tells whoever asks that a token exists and was issued to another
// client. Only someone who holds the token can learn that, since tokens are
// looked up by value.
//
// Requests are not rate limited. Each one costs a store read, and one that
// revokes something a write transaction (shared with concurrent ones), so
// put the endpoint behind the rate limiting the rest of the authorization
// server has.
//
// Strings are decoded as encoding/json does: bytes that are not UTF-8
// become U+FFFD. A token holding such bytes therefore cannot be revoked
// through the endpoint (it gets a 200 and stays live); issue tokens of
// printable ASCII, as RFC 6749 (VSCHAR) asks.
//
// The handler does not look at the request path: mount it at Path, or
// wherever you document it.
//
// The middleware checks revocation only. It does not verify that a token is
// genuine, unexpired, or meant for this server; the application must, and
// must also reject requests that carry no token where one is required. Over a
// store that several processes share (the sqlite backend), a revocation
// committed by another process reaches IsRevoked within the Revoker's sync
// interval (revoke.WithSyncInterval), not at once.
//
// OpenAPI states the default limits; a handler configured with other limits
// enforces those instead, and its document should say so.
package httpadapter
