package revoke

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// TokenState is what Lookup found a token to be. The zero value is
// StateNotIssued, so a TokenInfo returned with an error never reads as live.
type TokenState uint8

// The states of a token. Only StateLive is a token to honour.
const (
	// StateNotIssued: the store holds no record of the token. It was never
	// passed to Issue (a made-up or mistyped token, or one minted by
	// another server), or its record has been purged, which happens only
	// once it has expired (see Purge).
	StateNotIssued TokenState = iota
	// StateLive: issued, not revoked, not spent, and its expiry is after
	// the Revoker's clock.
	StateLive
	// StateRevoked: revoked, directly or by the cascade of its grant (a
	// revoked refresh token, reuse, RevokeSubject, RevokeClient) or by
	// RevokeUntracked. It wins over the other states: a revoked token that
	// has expired, or a spent refresh token whose grant was revoked, is
	// StateRevoked.
	StateRevoked
	// StateSpent: a refresh token that was rotated (see Rotate), or
	// superseded by a grace retry, and is not revoked. Presenting it to
	// Rotate or as the parent of an Issue is reuse. It is not revoked, and
	// IsRevoked reports it false, but it may not be used either.
	StateSpent
	// StateExpired: issued and not revoked, but its expiry is not after the
	// Revoker's clock (WithClock). Its record stays until Purge deletes it,
	// after the purge grace, and it is StateNotIssued from then on.
	StateExpired
)

// String returns "not issued", "live", "revoked", "spent", "expired", or
// "TokenState(n)" for an unknown state.
func (s TokenState) String() string {
	switch s {
	case StateNotIssued:
		return "not issued"
	case StateLive:
		return "live"
	case StateRevoked:
		return "revoked"
	case StateSpent:
		return "spent"
	case StateExpired:
		return "expired"
	}
	return "TokenState(" + strconv.Itoa(int(s)) + ")"
}

// TokenInfo is what the store knows of a token: what Lookup returns. It
// never holds the raw token or its ID.
type TokenInfo struct {
	// State is the token's state at the Revoker's clock.
	State TokenState
	// Kind is Access or Refresh; zero when the store holds no record
	// (StateNotIssued, or StateRevoked for a record already purged).
	Kind Kind
	// ClientID is the client the token was issued to, or "" without a
	// record.
	ClientID string
	// Subject is the principal of the token's grant, possibly "".
	Subject string
	// ExpiresAt is when the token expires, in UTC; zero without a record.
	ExpiresAt time.Time
}

// Lookup reports what the store knows of token: whether it was issued, to
// which client and subject, of which kind, until when, and its state (see
// TokenState). It is the question IsRevoked cannot answer: IsRevoked is
// false for a token that was never issued, Lookup says StateNotIssued.
//
// Lookup honours the token key (WithTokenKey) as IsRevoked does: a token
// the key function refuses was never issued by this server, and Lookup
// returns a *FieldError (field "token") wrapping ErrInvalidToken, as it does
// for an empty token or one longer than MaxTokenLength, with the zero
// TokenInfo (StateNotIssued).
//
// Unlike IsRevoked, Lookup reads the store: one read transaction with one
// Get, whatever the token. A store error is returned wrapped (errors.Is
// finds ErrUnavailable, ErrClosed or the context's error in it), never as a
// state. Since it reads the store, Lookup sees a revocation another process
// committed to a shared store (sqlite, postgres) before the index does.
// A token the in-memory index holds as revoked is StateRevoked even if its
// record is gone (purged after its expiry) or reads otherwise: Lookup never
// reports live a token IsRevoked reports revoked.
//
// A revocation writes the revocation into the record of every token it
// revokes (the cascade of a grant marks each member, spent refresh tokens
// and access tokens included), so the token's own record is enough: an
// access token minted under a grant that was revoked later is StateRevoked.
func (r *Revoker) Lookup(ctx context.Context, token string) (TokenInfo, error) {
	if r.closed.Load() {
		return TokenInfo{}, ErrClosed
	}
	switch {
	case token == "":
		return TokenInfo{}, errEmptyToken
	case len(token) > MaxTokenLength:
		return TokenInfo{}, &FieldError{Field: "token", Reason: tooLong(MaxTokenLength)}
	}
	key, ok := r.tokenKey(token)
	if !ok {
		return TokenInfo{}, errUnkeyed
	}
	id := TokenID(key)
	rec, found, err := r.get(ctx, id)
	if err != nil {
		r.storeError(ctx, "Lookup", err)
		return TokenInfo{}, fmt.Errorf("revoke: Lookup: %w", err)
	}
	// The index may hold a revocation whose record is gone (purged after
	// its expiry, here or by another process): it stays revoked, as
	// IsRevoked says.
	return infoOf(rec, found, r.index.containsKey(keyOf(&id)), r.opts.now()), nil
}

// infoOf returns what a Lookup that read rec (if found) tells, indexed
// being whether the index holds the token as revoked.
func infoOf(rec Record, found, indexed bool, now time.Time) TokenInfo {
	if !found {
		if indexed {
			return TokenInfo{State: StateRevoked}
		}
		return TokenInfo{}
	}
	info := TokenInfo{Kind: rec.Kind, ClientID: rec.ClientID, Subject: rec.Subject, ExpiresAt: rec.ExpiresAt.UTC()}
	switch {
	case indexed || rec.Revoked():
		info.State = StateRevoked
	case !rec.ExpiresAt.After(now):
		info.State = StateExpired
	case rec.Spent():
		info.State = StateSpent
	default:
		info.State = StateLive
	}
	return info
}
