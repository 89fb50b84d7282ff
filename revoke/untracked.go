package revoke

import (
	"context"
	"fmt"
	"time"
)

// RevokeUntracked revokes a token by its key, whether or not it was ever
// passed to Issue, and returns how many tokens it newly revoked. It is for
// deployments that hand out self-contained tokens (JWTs) without recording
// them: they deny-list a token by its key (with WithTokenKey and jwtkey, the
// key jwtkey.For builds from the token's issuer and jti; without a key
// function, the raw token) until it expires. clientID is the client the token
// was issued to (for a JWT, its client_id or azp claim), so that the client
// can still revoke it itself through Revoke; expiresAt is the token's expiry
// (its exp claim), after which the entry is purged like any record.
//
// A key that Issue recorded, and that is live, is revoked as Revoke would
// revoke it (a refresh token with its grant), whatever clientID says: this
// is the server's own decision, not a client's request. A key already
// revoked returns (0, nil). A key never seen is recorded as a revoked access
// token of clientID, expiring at expiresAt: IsRevoked reports it from then
// on, and a later Issue of a token with that key fails with ErrRevoked. An
// expiresAt this Revoker's clock holds past is recorded all the same, since
// another server's clock may disagree; Purge deletes it as any record. An
// empty or overlong key or clientID, or a zero expiresAt or one outside
// the years 1678 to 2262 (what every Store keeps), returns a *FieldError.
//
// The entry goes through the same group commit as Revoke: when
// RevokeUntracked returns nil the revocation is durable, and IsRevoked
// reports it.
func (r *Revoker) RevokeUntracked(ctx context.Context, key, clientID string, expiresAt time.Time) (int, error) {
	if r.closed.Load() {
		return 0, ErrClosed
	}
	if err := checkTokenClient("key", key, clientID); err != nil {
		return 0, err
	}
	switch {
	case expiresAt.IsZero():
		return 0, &FieldError{Field: "expiresAt", Reason: "is not set"}
	case expiresAt.After(maxExpiry):
		return 0, &FieldError{Field: "expiresAt", Reason: "is after " + maxExpiry.UTC().Format(time.RFC3339)}
	case expiresAt.Before(minExpiry):
		return 0, &FieldError{Field: "expiresAt", Reason: "is before " + minExpiry.UTC().Format(time.RFC3339)}
	}
	id, check := TokenID(key), Checksum(key)
	var (
		revoked []Revocation
		target  Record // what the revocation is reported as: the record, or the new entry
	)
	err := r.commit.do(ctx, []ID{id}, func(ctx context.Context, t *txn) error {
		revoked = revoked[:0]
		rec, found, err := t.get(ctx, id)
		if err != nil {
			return err
		}
		if found {
			// Issued (or deny-listed) before: revoke it as its own client
			// would, which leaves a revoked record alone.
			target = rec
			_, revoked, err = revokeToken(ctx, t, id, rec.ClientID, revoked)
			return err
		}
		target = Record{
			ID:        id,
			Check:     check,
			Kind:      Access,
			ClientID:  clientID,
			Grant:     id,
			ExpiresAt: expiresAt.Round(0).UTC(),
		}
		revoked, err = t.revokeRecord(ctx, target, revoked)
		return err
	})
	if err != nil {
		r.storeError(ctx, "RevokeUntracked", err)
		return 0, fmt.Errorf("revoke: RevokeUntracked: %w", err)
	}
	r.indexed(revoked)
	if len(revoked) == 0 && target.Revoked() {
		// Revoked before, maybe by another process (see Revoke).
		r.admit([]Revocation{target.Revocation()})
	}
	if len(revoked) > 0 {
		reason := ReasonCascade
		if target.Kind == Access {
			reason = ReasonDirect
		}
		r.revokedEvent(EventRevoked, "RevokeUntracked", reason, target, len(revoked))
	}
	return len(revoked), nil
}
