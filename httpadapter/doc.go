// Package httpadapter puts a revoke.Revoker on HTTP: a handler for the
// token revocation endpoint, one for token introspection, a middleware
// that turns away requests whose bearer token has been revoked (or, with
// RequireIssued, was never issued), and the revocation feed that resource
// servers follow (package follow).
//
// The package translates HTTP only. Every rule about tokens (who may revoke
// what, the cascade from a refresh token to its grant, what counts as
// expired) lives in package revoke; the handler decodes and validates the
// request, calls Revoker.Revoke, and maps its outcome to a status code. Any
// type with the Revoke or IsRevoked method can stand in for *revoke.Revoker.
//
// # Mounting
//
// Mount the handler at Path for every method, so that it answers every
// request to the path itself:
//
//	h, err := httpadapter.NewHandler(rev)
//	if err != nil {
//		return err
//	}
//	mux := http.NewServeMux()
//	httpadapter.Mount(mux, h)
//
// which is mux.Handle(httpadapter.Path, h). Do not register it under a
// method pattern ("POST /v1/auth/token/revoke" on a ServeMux, or chi's
// r.Post): the router then answers a GET with its own text/plain 405, and a
// CORS preflight never reaches the handler. With chi, use r.Handle.
//
// # The endpoint
//
// NewHandler serves POST /v1/auth/token/revoke (Path) in two dialects,
// chosen by the request's Content-Type: JSON, as the SDK's OpenAPI bundle
// specifies it, and the form of RFC 7009 that standard OAuth clients send
// (see "The form dialect" below). The package's own OpenAPI document,
// OpenAPI, describes every response of both. The JSON request is
//
//	POST /v1/auth/token/revoke HTTP/1.1
//	Content-Type: application/json
//
//	{"token": "<access or refresh token>", "clientId": "<client id>"}
//
// and the responses are:
//
//   - 200 {} when the token is revoked: now, before, or it was never issued
//     (RFC 7009, section 2.2: the client cannot tell, and need not). A
//     token this server's clock holds expired is revoked all the same,
//     since another server's clock may disagree. Revoking a refresh token revokes its whole grant,
//     every access token minted from it included.
//   - 400 {"violations":[{"field":...,"description":...}]} listing every
//     violation, at most one per field: "token" or "clientId" missing, not a
//     string (numbers, null, ...), empty, longer than the limit
//     (WithMaxTokenLength, WithMaxClientIDLength), or given twice; or a single
//     violation of field "body" when the body is not exactly one JSON object
//     (empty, malformed, truncated, null, an array, a string, or followed by
//     more data). More than one Authorization header is a violation of field
//     "Authorization", whatever the headers hold.
//   - 401 {"message":...} with WWW-Authenticate: Basic realm="revocation"
//     when the client authenticator (WithClientAuth) rejects the request's
//     credentials, or they are another client's than the body's clientId.
//     Nothing is revoked.
//   - 403 {"message":...} when the token was issued to another client
//     (revoke.ErrClientMismatch), or, with WithCORS, when the request's
//     Origin is not allowed (see "Browser clients"). Nothing is revoked.
//   - 405 {"message":...} with Allow: POST for any other method.
//   - 413 {"message":...} for a body over the limit (WithMaxBodyBytes,
//     64 KiB by default).
//   - 415 {"message":...} when the Content-Type is missing, repeated, or
//     neither application/json nor application/x-www-form-urlencoded;
//     parameters are allowed, but a charset must be UTF-8.
//   - 503 {"message":...} with Retry-After (WithRetryAfter, 5 seconds by
//     default) when the failure may pass: the store is unavailable (an error
//     wrapping revoke.ErrUnavailable: down, or locked past its timeout), the
//     Revoker is closed (the server is shutting down), or the request's
//     context was cancelled or ran out (see Unavailable). Nothing was
//     revoked.
//   - 500 {"message":"internal error"} for any other error of the Revoker (a
//     storage failure) or of the client authenticator. The details go to
//     the logger (WithLogger), never to the client, and nothing was revoked:
//     the client may retry. A revocation that did not happen is never
//     answered 200.
//
// Every response carries Cache-Control: no-store, Pragma: no-cache and
// X-Content-Type-Options: nosniff, and every body is application/json
// ending with a newline. No response repeats any part of the request.
//
// Field names match exactly: "Token" or "client_id" are unknown fields, and
// unknown fields are ignored. A field given more than once is a violation of
// that field, even when the values agree: JSON parsers disagree on which
// duplicate wins, and a proxy that checked the first must not see the second
// revoked. For the same reason a field beside a member whose name differs
// from it only in case ({"token":...,"Token":...}) is given twice, since
// encoding/json matches names case-insensitively. The token is used exactly as sent (no trimming); JSON escapes are
// decoded first.
//
// # The form dialect
//
// A request with Content-Type: application/x-www-form-urlencoded follows RFC
// 7009 and RFC 6749, as AppAuth, oidc-client libraries and
// golang.org/x/oauth2-style clients send it:
//
//	POST /v1/auth/token/revoke HTTP/1.1
//	Content-Type: application/x-www-form-urlencoded
//	Authorization: Basic <form-urlencoded client_id:client_secret, base64>
//
//	token=<token>&token_type_hint=refresh_token
//
// Parameters: token (required); token_type_hint, only a hint (the Revoker
// finds the token whatever its kind; an unknown hint is ignored); client_id,
// for a client that does not authenticate otherwise; client_secret, for
// client_secret_post when BasicAuth allows it. A parameter given twice is
// invalid_request; one without a value counts as omitted (RFC 6749, section
// 3.1); the URL's query string is not read. More than one Authorization
// header is invalid_request too, and so is the header together with
// client_secret: a client must not use more than one authentication method
// (RFC 6749, section 2.3). The responses:
//
//   - 200 with an empty body and no Content-Type for revoked, unknown,
//     expired or already revoked tokens (RFC 7009, section 2.2).
//   - 400 {"error":"invalid_request","error_description":...} for a
//     malformed request; 400 {"error":"unauthorized_client",...} for a
//     token issued to another client (RFC 7009 leaves the choice open; it
//     is refused, never 200).
//   - 403 {"error":"invalid_request",...} when WithCORS is configured and
//     the request's Origin is not allowed.
//   - 401 {"error":"invalid_client",...} with WWW-Authenticate when client
//     authentication fails, or no client is named at all.
//   - 413 invalid_request, 500 server_error, 503 temporarily_unavailable with
//     Retry-After, as in the JSON dialect. 405 and 415 have the JSON
//     dialect's {"message"} body, since the dialect is not known then.
//
// unsupported_token_type is never sent: the Revoker revokes every kind of
// token the server issues.
//
// # Client authentication
//
// Without an authenticator the client the request names (JSON clientId, form
// client_id) is taken on trust; a form request that names none is
// invalid_client. With WithClientAuth, the authenticated client is the
// requester, and may revoke only its own tokens; a request whose body names
// another client is refused with 401. BasicAuth authenticates confidential
// clients with HTTP Basic as RFC 6749, section 2.3.1 has it (credentials
// form-urlencoded before the Basic encoding), and optionally public clients
// (AllowPublicClients) and client_secret_post (AllowSecretPost):
//
//	auth := httpadapter.BasicAuth(clients.VerifySecret,
//		httpadapter.AllowPublicClients(clients.IsPublic))
//	h, err := httpadapter.NewHandler(rev, httpadapter.WithClientAuth(auth))
//
// Mutual TLS, private_key_jwt or anything else is a ClientAuth function of
// your own (see ClientAuth for an mTLS one). An error that is not a verdict
// on the credentials (the client database is down) is a 500 or 503, never a
// 401.
//
// # Browser clients
//
// WithCORS lets pages of the origins it allows call the endpoint: it answers
// the preflight (OPTIONS, 204) and grants each response to an allowed
// origin, per client if AllowOrigin looks at the client. It also refuses
// (403, nothing revoked) every request whose Origin header it does not
// allow: CORS alone only keeps a page from reading the answer, while a
// page's simple form POST would still be executed. Requests without an
// Origin header (servers, native applications) are not affected; browsers
// send one with same-origin POSTs too, so allow the server's own origin if
// its pages call the endpoint. Without WithCORS, no response carries a CORS
// header and Origin is ignored. Mount the handler for every method (see
// Mounting), or the preflight never reaches it.
//
//	h, err := httpadapter.NewHandler(rev,
//		httpadapter.WithClientAuth(auth),
//		httpadapter.WithCORS(httpadapter.CORS{
//			AllowOrigin: httpadapter.AllowOrigins("https://app.example"),
//		}))
//
// # The middleware
//
// Middleware checks the bearer token of each request (Authorization: Bearer,
// RFC 6750) with IsRevoked: a revoked token gets 401 with WWW-Authenticate:
// Bearer error="invalid_token"; malformed Bearer credentials get 400 with
// error="invalid_request"; a token the Revoker's key function refuses gets
// 401 with error="invalid_token"; a failing check gets 503 with Retry-After
// (it fails closed).
// Requests without a bearer token pass through untouched. See Middleware.
//
// IsRevoked is false for a token that was never issued, so the middleware
// alone lets any made-up string through. A server that passes every opaque
// token it mints to Issue adds RequireIssued: the middleware then looks
// each token up in the store (revoke.Revoker.Lookup, a store read per
// request) and lets through only live access tokens; a token never issued,
// expired, spent or a refresh token gets 401 with error="invalid_token".
// Middleware refuses RequireIssued over a Checker that cannot look tokens
// up.
//
//	protect, err := httpadapter.Middleware(rev, httpadapter.RequireIssued())
//	if err != nil {
//		return err
//	}
//	mux.Handle("/api/", protect(api))
//
// # Options
//
// NewHandler, Middleware and NewIntrospectionHandler take the same Option
// type, and check every option they are given: a nil option, a value out of
// the option's range (each option states it), or an option that does not
// apply to that constructor (WithCORS given to Middleware, RequireIssued
// given to NewHandler) makes the constructor return an error wrapping
// ErrInvalidOption that names the option. Nothing is ignored and no bad
// value falls back to a default, so a configuration that starts is the one
// written. See Option for which option applies where. NewFeedHandler
// (FeedOption) and NewGlobalRevocationHandler (GlobalOption) check theirs
// the same way, and each refuses a nil Revoker or Checker. None of these
// five constructors panics.
//
// # Token introspection
//
// NewIntrospectionHandler serves RFC 7662 token introspection, documented at
// IntrospectionPath (/v1/auth/token/introspect): an authenticated client (a
// resource server) posts a form with a token and learns whether it is
// active, and if so its client_id, sub, exp, token_type ("Bearer", for
// access tokens) and token_use ("access_token" or "refresh_token"). Every
// token that is not live (revoked, spent, expired, never issued) is exactly
// {"active":false}. It requires client authentication (WithClientAuth) and
// returns an error without it. By default any authenticated client may
// introspect any token; WithIntrospectionAccess(OwnTokens) restricts each
// client to its own.
//
//	h, err := httpadapter.NewIntrospectionHandler(rev, httpadapter.WithClientAuth(auth))
//	if err != nil {
//		return err
//	}
//	mux.Handle(httpadapter.IntrospectionPath, h)
//
// # The revocation feed
//
// NewFeedHandler serves GET /v1/auth/revocations (FeedPath): the
// revocations of a Revoker, streamed to resource servers that follow them
// without a database (package follow is the follower). A follower sends
//
//	GET /v1/auth/revocations HTTP/1.1
//	Accept: application/vnd.sdkauth.revocations.v2
//	Authorization: Bearer <secret>
//
// optionally with ?epoch=<16 hex digits>&after=<position> to resume, and
// gets 200 with Content-Type application/vnd.sdkauth.revocations.v2
// (FeedContentType) and a body that does not end while the follower reads
// and the Revoker runs. The refusals, each with a JSON {"message"} body
// and no revocation: 401 with WWW-Authenticate for missing or wrong
// credentials (WithFeedSecret, WithFeedClientAuth); 405 for a method other
// than GET; 406 when Accept admits neither FeedContentType nor a wildcard (a
// follower of another version of the format); 400 for a malformed epoch or
// after; 503 with Retry-After beyond WithFeedMaxFollowers.
//
// The body is a sequence of frames. Every frame is
//
//	type (1 byte) | length n (4 bytes) | body (n bytes) | CRC-32C (4 bytes)
//
// integers big-endian, the CRC (Castagnoli) over type, length and body.
// There are three types:
//
//   - 'H' hello, first and only once, 22 bytes: version (1 byte, 2), epoch
//     (8), mode (1: 'S' a snapshot follows, 'R' the stream resumes), after
//     (8: the position it resumes after; 0 for a snapshot), heartbeat (4:
//     milliseconds, see WithFeedHeartbeat).
//   - 'E' entries, 8 + 15×k bytes for 1 <= k <= 1024: the position of the
//     first entry (8; 0 inside a snapshot, where entries have none), then k
//     entries of ID (11 bytes: the first 11 bytes of the SHA-256 of the
//     token's key, the fingerprint the Revoker's index keeps,
//     revoke.FingerprintSize; never a raw token, and not even a full ID;
//     inside a snapshot the last two bits are 0, since the index compares
//     86 bits, and a follower ignores them)
//     and expiry (4: Unix seconds, rounded up; inside a snapshot, rounded
//     up to revoke.ExpiryResolution, as the index keeps it). Outside a
//     snapshot, entries are at consecutive positions: the first of a frame
//     follows the last one sent.
//   - 'S' sync, 12 bytes: position (8) and the Revoker's lag (4:
//     milliseconds, see revoke.Revoker.Lag). The follower has every
//     revocation up to that position. A snapshot ends with one, at the
//     position it is complete up to; afterwards one follows each burst of
//     entries that brings the stream up to the newest revocation (a stream
//     behind gets none until it is), and comes every heartbeat while there
//     are none.
//
// A snapshot is 15 bytes a revocation on the wire, plus 17 bytes a frame
// of up to 512 entries: about a third of version 1's 40 bytes, whose
// entries carried the full 32-byte ID and a 4-byte check, both gone from
// version 2. Positions are those of the Revoker's change log (see
// revoke.Revoker.ChangesSince): local to one Revoker, whose epoch names
// them. A request that names the feed's epoch and a position its change log
// still holds resumes there ('R'); any other gets a snapshot ('S'), which
// the follower loads in place of what it had. A stream ends when the
// follower's position falls out of the change log (it reconnects and gets a
// snapshot), when a write stalls past WithFeedWriteTimeout (a follower that
// stopped reading), when the request's context ends, and when the Revoker
// closes: close the Revoker before shutting the http.Server down, or
// Shutdown waits for the streams. The handler sets a write deadline per
// burst of frames, which replaces the server's WriteTimeout for its
// streams.
//
// The streams share the work of a revocation: one goroutine of the handler
// (started with its first stream, ending when the Revoker closes) reads it
// from the change log and encodes its frames once, and each stream caught
// up with that goroutine writes those frames as they are, with one write
// to its connection. That goroutine is woken by the change log when a
// revocation enters it, so a revocation wakes one goroutine whatever the
// number of followers, and an idle feed wakes none. A stream that is behind
// (after a snapshot or a resume, or a follower slower than the others)
// reads the change log on its own until it is caught up again.
//
// A new version of the format gets a new media type; a server serves the
// versions it knows, and a follower that asks only for another one gets 406.
// This one serves version 2 only: a follower of version 1 (Accept:
// application/vnd.sdkauth.revocations.v1) gets 406, and a follower of
// version 2 refuses a version 1 server (follow.ErrFormat), so servers and
// followers are upgraded together.
//
// # Global Token Revocation
//
// NewGlobalRevocationHandler serves the Global Token Revocation endpoint
// of draft-parecki-oauth-global-token-revocation-06, mounted by the
// examples at GlobalRevocationPath: a security tool or the user's identity
// provider posts {"sub_id": {"format": "iss_sub", "iss": ..., "sub": ...}}
// (or the "email" and "opaque" formats of RFC 9493, which the
// application's SubjectResolver maps to a subject) with a bearer token the
// application's GlobalAuth checks, and every grant of that user is revoked
// with RevokeSubject: 204. A format it does not take is 400, a caller
// refused 401 or 403, a user the resolver does not know 404.
//
//	h, err := httpadapter.NewGlobalRevocationHandler(rev,
//		httpadapter.WithGlobalAuth(checkToolToken),
//		httpadapter.WithGlobalIssuer("https://as.example"),
//		httpadapter.WithSubjectResolver(users.ByIdentifier))
//	if err != nil {
//		return err
//	}
//	mux.Handle(httpadapter.GlobalRevocationPath, h)
//
// The draft also asks the server to re-authenticate the user before issuing
// new tokens: RevokeSubject does not stop new logins, so refuse the user's
// sessions at the login too.
//
// # Departures from RFC 7009
//
// The form dialect follows RFC 7009. The JSON dialect follows the SDK's
// contract, which departs from it in these ways:
//
//   - The body is JSON, and the client names itself in a "clientId" field
//     of the body rather than with client_id (RFC 6749, section 2.3).
//   - The token_type_hint parameter is not part of the contract; a
//     "token_type_hint" member is ignored like any unknown field. The
//     Revoker finds the token whatever its kind.
//   - A success answers 200 with the body {}, not an empty body.
//   - A token issued to another client is refused with 403 and an Error
//     body, where RFC 7009 leaves the response to the error format of RFC
//     6749 (400 with an "error" code). Validation errors are likewise the
//     SDK's ValidationError, not {"error":"invalid_request"}.
//   - Errors never carry the RFC 6749 "error" member.
//
// # Caveats
//
// Without WithClientAuth the client the request names is asserted, not
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
// The handler does not look at the request path: mount it at Path (Mount),
// or wherever you document it, for every method.
//
// A server that hands out JWTs it does not record (stateless) gets 200 from
// the endpoint for them and nothing revoked, since the Revoker only knows
// tokens passed to Issue: verify such a token yourself and deny-list it
// with revoke.Revoker.RevokeUntracked (see package jwtkey).
//
// The middleware checks revocation only, and with RequireIssued that the
// store recorded the token as a live access token. It does not verify that
// a token is genuine (a signature), meant for this server (an audience) or
// allowed to do what the request does (scopes); the application must, and
// must also reject requests that carry no token where one is required. Over a
// store that several processes share (the sqlite backend), a revocation
// committed by another process reaches IsRevoked within the Revoker's sync
// interval (revoke.FollowPolicy.Interval), not at once.
//
// OpenAPI states the default limits; a handler configured with other limits
// enforces those instead, and its document should say so.
package httpadapter
