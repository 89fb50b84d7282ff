// Package follow keeps a resource server's view of an authorization
// server's revocations: it follows the server's revocation feed over HTTP
// (package httpadapter, NewFeedHandler) and answers IsRevoked from memory,
// with the same index a revoke.Revoker uses, without a database or its
// credentials.
//
//	checker, err := follow.New(ctx, "https://auth.example/v1/auth/revocations",
//		follow.WithBearer(os.Getenv("FEED_SECRET")),
//		follow.WithURLs("https://auth-2.example/v1/auth/revocations"),
//		follow.WithMaxLag(5*time.Second),
//		follow.WithTokenKey(jwtkey.KeyOrOpaque)) // as the server's revoke.WithTokenKey
//	if err != nil {
//		return err
//	}
//	defer checker.Close()
//	protect, err := httpadapter.Middleware(checker)
//	if err != nil {
//		return err
//	}
//	mux.Handle("/api/", protect(api))
//
// New returns once the follower has loaded the feed's snapshot: every
// revocation the server's index holds. It then applies each revocation the
// server streams as it commits, through a local, directly revoked or
// cascaded Revoke, a reuse, RevokeSubject, RevokeClient, RevokeUntracked,
// or another replica's commit over a shared store. IsRevoked takes no lock,
// makes no network call and does not allocate.
//
// The follower reads version 2 of the feed's format
// (application/vnd.sdkauth.revocations.v2, FeedContentType; specified in
// package httpadapter's documentation, "The revocation feed"). Each of its
// entries is 15 bytes, about a third of version 1's 40: the first 11 bytes
// of the revoked token's ID (revoke.FingerprintSize, the fingerprint the
// index keeps, of which it compares 86 bits; never a raw token, and not
// even a full ID) and the expiry
// (Unix seconds; a snapshot's rounded up to revoke.ExpiryResolution). A
// server of another version is refused with an error wrapping ErrFormat.
//
// # Reconnection
//
// When its stream fails (the server restarts, a proxy cuts it, no frame
// comes for three heartbeats, a frame is corrupt) the follower reconnects,
// to the next of its URLs (WithURLs), after a backoff (WithBackoff). It asks
// to resume after the last position it applied; a server whose change log
// still holds that position resumes there, and the follower misses nothing.
// A server that cannot (it restarted, it is another replica, the follower
// fell behind further than its log reaches) sends a snapshot instead, which
// the follower loads beside its index and puts in place in one step: until
// then the old index answers, whole, so no revoked token looks live in
// between. A stream that breaks the format is an error and a reconnection,
// never an entry in the index.
//
// # Caveats
//
//   - The follower is as fresh as its stream. Lag says how far behind it
//     may be; with WithMaxLag, IsRevoked fails closed (an error wrapping
//     revoke.ErrStale, a 503 from httpadapter.Middleware) once it lags by
//     more than the bound. Without it, a follower cut off from the server
//     keeps answering from what it has.
//   - The index holds about 15 to 17 bytes per revoked, unexpired token, as
//     the server's does (see revoke.Index). A snapshot is loaded beside
//     the index it replaces, so a reload needs twice that for a moment.
//   - Entries are shed once expired for longer than the grace of WithSweep
//     (revoke.DefaultPurgeGrace by default), their expiry kept rounded up
//     to revoke.ExpiryResolution (by the server's snapshot, then by the
//     follower's index, so up to twice that late): a token the follower
//     reports live after its expiry must be refused by its own expiry
//     check, which the application makes anyway.
//   - A JWT server's key function (revoke.WithTokenKey) must be given to
//     the follower too (WithTokenKey): without it, the follower looks up
//     the token's bytes, under which the server never files a JWT.
//   - The follower checks revocation only, as the middleware does: it does
//     not verify that a token is genuine or unexpired.
package follow
