// Package revoke is the core of the revocation library: it records the
// tokens an OAuth authorization server hands out, revokes them with the
// cascade rules of RFC 7009, and answers IsRevoked on every request from an
// in-memory index.
//
// An authorization server calls Issue when it mints a token, Revoke when a
// client asks to revoke one (package httpadapter mounts it as the HTTP
// endpoint), and IsRevoked in the middleware of every protected request.
// The rules live here, once; a Store (package memory, bolt or sqlite, or
// your own) provides storage and atomic transactions and nothing more.
// Package store/storetest checks that a Store behaves as this package needs.
//
// # Cascade rules
//
// A grant is a refresh token, every refresh token rotated from it (Token.Parent
// is the previous refresh token), and every access token minted from any of
// them (Token.Parent is a refresh token of the grant). A token without a
// Parent starts its own grant.
//
//   - Revoking an access token revokes that token alone.
//   - Revoking a refresh token revokes every token of its grant, atomically,
//     whichever refresh token of the rotation chain is presented.
//   - A token never issued or already revoked is not an error: Revoke
//     returns (0, nil) and changes nothing.
//   - Issue under a revoked parent fails with ErrRevoked; an Issue racing a
//     Revoke of its grant either fails with ErrRevoked or its token is
//     revoked by that Revoke. No token of a revoked grant is ever live.
//   - IsRevoked is true for a token revoked directly or by cascade until it
//     has expired and its record has been purged; false for a token never
//     issued.
//   - A token's Subject is its grant's: a token issued under a parent with
//     an empty Subject inherits the parent's; another one is a *FieldError.
//
// # Rotation and reuse
//
// Rotate is the refresh step of a token endpoint: the presented refresh
// token is exchanged for a new one that joins its grant, and becomes spent.
// Presenting a spent token again, to Rotate or as the parent of an Issue,
// is reuse (RFC 9700 section 4.14.2): the server cannot tell the thief from
// the client, so the whole grant is revoked in the same transaction, the
// newest tokens included, and the call returns ErrReused. Mint the access
// tokens of a refresh from the new refresh token.
//
//   - A spent refresh token is not revoked: IsRevoked stays false for it
//     (it may still be listed as the parent of live access tokens). Rotate
//     is the check for refresh tokens.
//   - Spent markers are kept on the records themselves, for as long as the
//     records are: purging the expired members of a grant leaves the live
//     ones, and their markers, so reuse is detected for the whole life of
//     the family.
//   - With a grace window (RotationPolicy.ReuseGrace, off by default), the immediately
//     previous refresh token of the chain, presented again within the
//     window (measured from its first rotation: grace retries do not
//     extend it), rotates again, for clients whose response was lost; the
//     successor it replaces is spent without grace. An older generation,
//     a retry after the window, or more retries than RotationPolicy.GraceRetries
//     allows, is reuse. The chain as committed decides, not timestamps:
//     of concurrent Rotates of one token without grace exactly one wins.
//
// # Looking a token up
//
// IsRevoked answers "was this token revoked?" from memory, and is false for
// a token that was never issued: it cannot tell a made-up token from a live
// one. Lookup answers "was this token issued, to whom, and what is it now?"
// (a TokenInfo: its TokenState, kind, client, subject and expiry) at the
// cost of a store read. Servers whose opaque tokens are all passed to Issue
// use it to refuse tokens they never minted (the RequireIssued option of
// package httpadapter's middleware) and to answer token introspection
// (RFC 7662, httpadapter.NewIntrospectionHandler).
//
// # Log out everywhere
//
// RevokeSubject revokes every grant of a user, across clients, and
// RevokeClient every grant of a client. Stores index records by subject and
// by client (Tx.GrantsOf), so their cost is that of the grants revoked, not a
// scan. They run in bounded transactions (WithOwnerBatch), each grant
// whole; when they return nil, every token issued before the call started
// is revoked, and an Issue or Rotate racing them under one of those tokens
// failed with ErrRevoked or was revoked too.
//
// # Observability
//
// WithObserver receives one Event per operation after its commit (issued,
// rotated, revoked with its Reason, reuse, purged, follower synced, store
// error), carrying client, subject, counts and a short hash of the grant,
// never a raw token. Stats returns counters: checks by result (counted
// while an observer is set), revocations by reason, index size, follower
// position and lag, commits and batch size. Without an observer IsRevoked
// does no extra work; with one it adds a counter increment.
//
// # Errors
//
// Errors are sentinel values compared with errors.Is: ErrRevoked,
// ErrReused, ErrClientMismatch, ErrUnknownParent, ErrAlreadyIssued,
// ErrInvalidToken (bad input, detailed by a *FieldError), ErrClosed,
// ErrUnavailable (the store cannot serve now), and, from New,
// ErrInvalidOption and ErrStoreInUse. A storage failure is
// returned as an error wrapping the store's error, never as success: when
// Issue or Revoke returns nil, the write is committed.
//
// # Storage
//
// Raw token values never reach a Store. A record is keyed by the SHA-256 of
// its token (ID) and carries the token's CRC-32C (Checksum), kept for the
// export format; IsRevoked finds a token by its SHA-256 alone, so a wrong
// checksum hides nothing. A stolen database file holds no token anyone
// could present.
//
// Concurrent Issue and Revoke calls are committed together in shared
// transactions (group commit): each call returns once its transaction is
// committed, and concurrent callers share the cost of the commit. A shared
// transaction reads the records its calls check in one Tx.Get, writes what
// they change in one Tx.Put, and revokes a grant of any size with one
// Tx.RevokeGrants: a store whose statements cost a round trip (postgres)
// serves a group commit in a few, with no cache of its own. One group
// commit runs at a time, unless the store declares Capabilities.Overlap.
//
// A backend implements Store and Tx, and declares what it does beyond them
// in Capabilities (Shared, Notify, Clock, Overlap); the contract is stated whole in
// Store's documentation, and package store/storetest checks a backend
// against it, method by method, with one call.
//
// # Token keys
//
// By default a token is its exact bytes. WithTokenKey maps a presented token
// to its identity before hashing (for JWTs, issuer and jti: package
// github.com/sdkauth/revocation/jwtkey), so that every spelling of one token
// is the same token; RevokeUntracked deny-lists such a key for a token that
// was never passed to Issue.
//
// # Clocks
//
// Servers' clocks disagree, and a revocation must never be lost to a clock
// that runs fast. So expiry plays no part in revoking: Revoke, the cascade,
// reuse, RevokeSubject, RevokeClient and RevokeUntracked revoke every
// record still kept, whatever this Revoker's clock says of its expiry.
// Expiry is judged in three places only, each with the purge grace
// (PurgePolicy.Grace, DefaultPurgeGrace) as the allowance for skew: Purge
// deletes records that expired more than the grace ago; the index sheds
// such entries; and Issue and Rotate refuse a parent that has expired (a
// refusal, which fails safe). Over a store with a clock of its own
// (Capabilities.Clock: the postgres backend), a Revoker on the default clock
// purges by the earlier of its clock and the store's, so a replica whose
// clock runs fast cannot purge what the database still holds valid. Keep
// the servers' clocks within the purge grace of each other (NTP); a
// replica whose clock runs slow keeps revoked entries longer, which is
// safe.
//
// # Change log and feeds
//
// Every revocation that enters the index (through Revoke, its cascade,
// RevokeSubject, RevokeClient, reuse, RevokeUntracked, or the follower's
// sync of other processes' commits) also enters a bounded, in-memory
// change log at the next position (WithChangeLog). Positions are local to
// the Revoker and named by its Epoch: over a shared store revocations reach
// the index in another order than the store's sequence, which is why a
// follower resumes by position, never by Seq. Snapshot streams the index
// with the position it is complete up to; ChangesSince reads the log after
// a position, or reports ErrChangesGone; ChangeNotify waits for the next
// entry. The httpadapter package serves them as a feed (NewFeedHandler),
// which resource servers follow with package follow into an Index, the
// index a Revoker answers from, on its own.
//
// # Caveats
//
//   - The index of revoked tokens is held in memory: 15 to 17 bytes per
//     revoked token, a fingerprint of its ID (FingerprintSize) and its
//     expiry to the hour (ExpiryResolution), measured at 1 to 10 million
//     in BENCHMARKS.md. A token that is not revoked is reported revoked
//     with probability n·2^-86 over n entries: below 2^-60 up to 67
//     million. Expired entries are dropped once they reach a quarter of
//     the index, so memory follows a sawtooth above the unexpired entries.
//     New streams it from the store. IsRevoked reads it without locks.
//   - Only stores that other processes may write to (Capabilities.Shared,
//     such as the sqlite backend) make New start a goroutine, the follower, which reads
//     their revocations every sync interval (FollowPolicy.Interval). Until it
//     does, a revocation committed by another process is not yet seen by
//     IsRevoked in this one. Revocations made through this Revoker are seen
//     at once.
//   - Records are deleted only by Purge (or the janitor, PurgePolicy.Every). Each
//     Revoker also sheds from its own index, at most once a minute, the
//     entries that expired more than the purge grace ago, janitor or not, so
//     its memory stays bounded by what is revoked and unexpired; New and the
//     follower do not load such revocations.
//   - Close closes the Store too. A Store runs one Revoker: New refuses a
//     second one over the same Store with ErrStoreInUse, since its index
//     would never learn the first one's revocations. Share the Revoker (it
//     is safe for concurrent use). Two Stores over the same data are
//     refused by the backends that serve one process (bolt) and followed
//     by the Shared ones (sqlite), within the sync interval.
//   - Issue and Revoke take input up to MaxTokenLength, MaxClientIDLength
//     and MaxSubjectLength bytes, the same on every backend; longer input is
//     a *FieldError. A client ID or subject must be valid UTF-8 without a
//     NUL byte, the text every SQL backend stores as it is; a token may hold
//     any bytes, since it is hashed and never stored. Other input is a
//     *FieldError before any store sees it, so one caller's bad input
//     cannot fail the writes it would share a transaction with. A write
//     that the store refuses fails alone all the same, whether the store
//     refuses it when it is written or later, at a read of the shared
//     transaction or at its commit: the other writes sharing its
//     transaction (group commit) are committed without it, each once, the
//     transaction being run again in parts until the refused write is
//     alone. A write that the store refuses with a panic fails alone too,
//     with an error naming the panic.
//   - A write's context bounds it up to its commit. When the context of
//     Issue, Rotate, Revoke or RevokeUntracked (or of a transaction of
//     RevokeSubject and RevokeClient) ends before the commit is sent, the
//     call returns the context's error and nothing is written for it,
//     whether it was queued, waiting for the store (a connection, a lock, a
//     server that does not answer) or running; the writes sharing its
//     transaction run again without it. Only a commit already sent is
//     waited for, and its outcome returned: nil only if it committed. A
//     commit whose outcome the store cannot know (the connection lost
//     during it) is an error wrapping ErrUnavailable, and is not run again.
package revoke
