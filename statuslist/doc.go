// Package statuslist makes a revoke.Revoker an issuer of IETF Token Status
// Lists (draft-ietf-oauth-status-list-17): resource servers that verify
// self-contained JWTs, in any language, learn whether a token was revoked
// by fetching a signed, compressed bit array, with nothing but an HTTP GET
// and a JWT library.
//
// An authorization server allocates an entry for each token it mints,
// puts it in the token as its status claim, and passes it to Issue, which
// stores it with the token's record:
//
//	is, err := statuslist.New(ctx, rev, "https://as.example/statuslists",
//		statuslist.Key{Signer: key, ID: "2026-12"})
//	...
//	mux.Handle(is.Path(), is) // serves GET /statuslists/{list}
//
//	e, err := is.Allocate()
//	claims["status"] = e.Claim() // {"status_list": {"idx": 5, "uri": "https://as.example/statuslists/9f3c..."}}
//	err = rev.Issue(ctx, revoke.Token{..., Status: e.Ref})
//
// Once the token is revoked, however it is (Revoke, the cascade of its
// grant, reuse of a refresh token, RevokeSubject, RevokeClient, on any
// replica), its entry reads 1 (INVALID) in the list served; 0 (VALID)
// before.
//
// # Lists and entries
//
// Each Issuer allocates from lists of its own: a list gets a random
// non-zero 64-bit number when it starts, its URI is the base URL followed
// by the number in 16 hexadecimal digits, and its indices are handed out
// densely (in order, or in a random order with WithRandomIndices), each
// once; a full list is followed by a new one. Replicas need no
// coordination, and a restarted process starts a new list: lists, and so
// entries, are never reused. Allocation is in memory; what makes the
// entry durable is Issue, which stores it with the record.
//
// # Serving
//
// The Issuer serves every list as a Status List Token (section 5.1):
// header {alg, kid, typ: "statuslist+jwt"}, claims sub (the list's URI),
// iat, exp (WithLifetime), ttl (WithTTL) and status_list {bits: 1, lst},
// lst the base64url of the ZLIB-compressed bit array, entry i in bit i%8 of
// byte i/8. It signs with the Key's crypto.Signer: ES256 (ECDSA P-256),
// ES384 (P-384) or EdDSA (Ed25519). Responses carry an ETag (a request
// with If-None-Match gets 304), Cache-Control max-age up to the ttl, and
// allow any origin (CORS). Any list number is served, all 0 unless it
// has revocations, at the size WithListSize sets: any replica serves any
// list.
//
// Every Issuer builds its lists from the store at start (Revoker.Statuses),
// then follows the Revoker's change log, which every revocation enters,
// whichever replica made it (the follower of a shared store brings the
// others' within its sync interval). A revocation reaches the served list
// as soon as the Issuer reads it, in a millisecond or so on the replica
// that made it; on the others, after the store's sync interval
// (revoke.FollowPolicy.Interval, 1 s by default). The bit array is compressed in
// chunks of 8 KiB (65,536 entries), each compressed on its own at the
// highest level and cached: a revocation recompresses its chunk only, so a
// list of 10 million entries is served again in about 9 ms, rather than
// seconds (BENCHMARKS.md). The token is signed when first asked for after a
// change, once for all the requests that follow, and again when it is older
// than the ttl.
//
// # Caveats
//
//   - Relying parties cache a list for its ttl (and may keep it until its
//     exp when the server cannot be reached): a revocation reaches them
//     within the ttl of their last fetch, not at once. Pick WithTTL for the
//     delay your access tokens can afford.
//   - Every replica, and every restart, must use the same WithListSize
//     while tokens of its lists live: a list is served at the size of the
//     replica asked. A revoked entry beyond the size cannot be shown, and is
//     logged.
//   - Entries of records purged (expired tokens) return to 0 at the next
//     reload (WithReloadInterval); a list without revocations left frees
//     its memory. Memory is the size of each list that has a revocation
//     (128 KiB a list by default) and its compressed form.
//   - A replica that loses its place in the change log (it fell behind by
//     more than revoke.WithChangeLog revocations) reloads from the store,
//     and answers 503 until the reload succeeds rather than serve a list
//     that misses revocations.
//   - A replica cut off from a store that other replicas write keeps
//     serving lists signed now but built from what it last read, unless
//     WithMaxLag bounds how far behind it may be.
//   - Allocation hands out an entry even for a token that is never issued:
//     the entry stays 0 and is not handed out again.
//   - Only lists of 1 bit an entry (VALID or INVALID) are served; there is
//     no SUSPENDED status, no CWT form (application/statuslist+cwt),
//     no Status List Aggregation and no historical resolution. The draft's
//     Content-Encoding of responses is left to the HTTP server or proxy.
//   - The lists are public (any origin may read them), as the draft intends;
//     the entry of a token is as secret as the token. Requests are not rate
//     limited: a request for a list without revocations costs a signature.
package statuslist
