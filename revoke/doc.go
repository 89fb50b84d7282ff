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
//   - A token never issued, already expired or already revoked is not an
//     error: Revoke returns (0, nil) and changes nothing.
//   - Issue under a revoked parent fails with ErrRevoked; an Issue racing a
//     Revoke of its grant either fails with ErrRevoked or its token is
//     revoked by that Revoke. No token of a revoked grant is ever live.
//   - IsRevoked is true for a token revoked directly or by cascade until it
//     has expired and its record has been purged; false for a token never
//     issued.
//
// # Errors
//
// Errors are sentinel values compared with errors.Is: ErrRevoked,
// ErrClientMismatch, ErrUnknownParent, ErrAlreadyIssued, ErrInvalidToken
// (bad input, detailed by a *FieldError), ErrClosed, ErrUnavailable (the
// store cannot serve now), and, from New, ErrInvalidOption and
// ErrStoreInUse. A storage failure is
// returned as an error wrapping the store's error, never as success: when
// Issue or Revoke returns nil, the write is committed.
//
// # Storage
//
// Raw token values never reach a Store. A record is keyed by the SHA-256 of
// its token (ID) and carries the token's CRC-32C (Checksum), which lets
// IsRevoked rule out most tokens that are not revoked before hashing them. A
// stolen database file holds no token anyone could present.
//
// Concurrent Issue and Revoke calls are committed together in shared
// transactions (group commit): each call returns once its transaction is
// committed, and concurrent callers share the cost of the commit.
//
// # Token keys
//
// By default a token is its exact bytes. WithTokenKey maps a presented token
// to its identity before hashing (for JWTs, issuer and jti: package
// github.com/sdkauth/revocation/jwtkey), so that every spelling of one token
// is the same token; RevokeUntracked deny-lists such a key for a token that
// was never passed to Issue.
//
// # Caveats
//
//   - The index of revoked tokens is held in memory: about 54 bytes per
//     revoked, unexpired token (BENCHMARKS.md). New streams it from the
//     store. IsRevoked reads it without locks.
//   - Only stores that other processes may write to (Shared, such as the
//     sqlite backend) make New start a goroutine, the follower, which reads
//     their revocations every sync interval (WithSyncInterval). Until it
//     does, a revocation committed by another process is not yet seen by
//     IsRevoked in this one. Revocations made through this Revoker are seen
//     at once.
//   - Records are deleted only by Purge (or the janitor, WithJanitor). A
//     revoked token stays in the index until it has expired and been purged.
//   - Revoking an expired refresh token does nothing, as RFC 7009 says of
//     invalid tokens, even if access tokens minted from it are still live:
//     revoke a grant through its newest refresh token.
//   - Close closes the Store too. A Store runs one Revoker: New refuses a
//     second one over the same Store with ErrStoreInUse, since its index
//     would never learn the first one's revocations. Share the Revoker (it
//     is safe for concurrent use). Two Stores over the same data are
//     refused by the backends that serve one process (bolt) and followed
//     by the Shared ones (sqlite), within the sync interval.
//   - Issue and Revoke take input up to MaxTokenLength, MaxClientIDLength
//     and MaxSubjectLength bytes, the same on every backend; longer input is
//     a *FieldError. A write that the store refuses fails alone: the other
//     writes sharing its transaction (group commit) are committed without
//     it.
//   - Issue and Revoke wait for their commit even if their context is
//     cancelled once their transaction has begun: a cancelled context stops
//     only a write that has not started.
package revoke
