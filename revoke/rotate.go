package revoke

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrReused is returned by Rotate, and by Issue, when the refresh token
// presented was already rotated (spent): RFC 9700 section 4.14.2 reuse. The
// server cannot tell the thief from the client, so the whole grant has been
// revoked, in the same transaction, the newest tokens included.
var ErrReused = errors.New("revoke: refresh token reused")

// Rotate is the refresh step of the token endpoint: old, a refresh token,
// is exchanged for next, a new refresh token of the same client, in one
// transaction. next joins old's grant (next.Parent must be empty or old,
// next.Kind Refresh) and old becomes spent: presenting it again is reuse.
//
//   - old never issued, purged or expired: ErrUnknownParent; revoked:
//     ErrRevoked; another client's: ErrClientMismatch; an access token: a
//     *FieldError. Nothing is stored, as for Issue under such a parent.
//   - old already spent: reuse. Every live token of the grant is revoked
//     in the same transaction and Rotate returns an error wrapping
//     ErrReused. With a grace window (WithReuseGrace), the immediately
//     previous token of the chain, presented again within the window and
//     within the grace retries, rotates again instead: Rotate returns nil,
//     and the successor it replaces is spent from then on, without grace.
//     Whether a token is the immediately previous one is decided on the
//     chain as committed, never on timestamps.
//   - Calling Rotate again with the same old and next after it succeeded
//     (a retry after a lost acknowledgement) returns nil and changes
//     nothing.
//   - next's Subject, if empty, is old's; another subject is a
//     *FieldError. next itself must not have been issued before with other
//     attributes (ErrAlreadyIssued).
//
// Of concurrent Rotates of one token without grace, exactly one returns nil;
// the others return ErrReused (or ErrRevoked once the grant is revoked), and
// the grant ends revoked. When Rotate returns nil, next is committed.
func (r *Revoker) Rotate(ctx context.Context, old string, next Token) error {
	if r.closed.Load() {
		return ErrClosed
	}
	now := r.opts.now()
	switch {
	case old == "":
		return &FieldError{Field: "old", Reason: "is empty"}
	case len(old) > MaxTokenLength:
		return &FieldError{Field: "old", Reason: tooLong(MaxTokenLength)}
	case next.Kind != Refresh:
		return &FieldError{Field: "Kind", Reason: "is " + next.Kind.String() + ", want refresh"}
	case next.Parent != "" && next.Parent != old:
		return &FieldError{Field: "Parent", Reason: "is neither empty nor the rotated token"}
	case next.Value == old:
		return &FieldError{Field: "Value", Reason: "is the rotated token itself"}
	}
	next.Parent = old
	if err := validate(next, now); err != nil {
		return err
	}
	rec, err := r.recordOf(next)
	if err != nil {
		return err
	}
	var (
		outcome error
		parent  Record
		revoked []Revocation
		retried bool
		wrote   bool
	)
	err = r.commit.do(ctx, []ID{rec.Parent, rec.ID}, func(ctx context.Context, tx Tx) error {
		outcome, revoked, retried, wrote = nil, revoked[:0], false, false
		p, found, err := tx.Get(ctx, rec.Parent)
		if err != nil {
			return err
		}
		parent = p
		if outcome = checkParent(p, found, rec.ClientID, now); outcome != nil {
			return nil
		}
		if outcome = inherit(&rec, next.Subject, p); outcome != nil {
			return nil
		}
		rec.Grant = p.Grant
		n, nfound, err := tx.Get(ctx, rec.ID)
		switch {
		case err != nil:
			return err
		case nfound && n.Revoked():
			outcome = fmt.Errorf("%w: the new token itself was revoked", ErrRevoked)
			return nil
		case nfound && p.Successor == rec.ID && sameIssue(n, rec):
			return nil // a retry of this very rotation
		case nfound:
			outcome = ErrAlreadyIssued
			return nil
		}
		if p.Spent() {
			ok, err := r.graceRetry(ctx, tx, p, now)
			if err != nil {
				return err
			}
			if !ok {
				outcome = fmt.Errorf("%w: the token was already rotated; its grant is revoked", ErrReused)
				revoked, err = revokeGrant(ctx, tx, p.Grant, revoked)
				return err
			}
			retried = true
			p.Retries++
		}
		// The grace window runs from the first rotation: a grace retry
		// replaces the successor but not RotatedAt, so retries cannot
		// slide the window forward.
		p.Successor = rec.ID
		if !retried {
			p.RotatedAt = now.Round(0).UTC()
		}
		if err := tx.Put(ctx, p); err != nil {
			return err
		}
		wrote = true
		return tx.Put(ctx, rec)
	})
	if err != nil {
		r.storeError("Rotate", err)
		return fmt.Errorf("revoke: Rotate: %w", err)
	}
	r.indexed(revoked)
	switch {
	case errors.Is(outcome, ErrReused):
		r.reused("Rotate", parent, len(revoked))
	case outcome == nil && wrote:
		r.observeRecord(EventRotated, "Rotate", rec, boolCount(retried))
	}
	return outcome
}

// graceRetry reports whether presenting p, a spent refresh token, again is
// a grace retry (see WithReuseGrace), and if so marks the successor it
// replaces as superseded.
func (r *Revoker) graceRetry(ctx context.Context, tx Tx, p Record, now time.Time) (bool, error) {
	g := r.opts.life
	if g.reuseGrace <= 0 || p.Superseded || p.Successor.IsZero() ||
		int(p.Retries) >= g.graceRetries || now.Sub(p.RotatedAt) >= g.reuseGrace {
		return false, nil
	}
	s, found, err := tx.Get(ctx, p.Successor)
	if err != nil || !found || s.Spent() || s.Revoked() {
		// The successor was rotated in turn (p is not the immediately
		// previous token), revoked, or is gone: no grace.
		return false, err
	}
	s.Superseded = true
	return true, tx.Put(ctx, s)
}

// inherit gives rec the subject of its parent p: an empty subject is p's,
// another one is a *FieldError.
func inherit(rec *Record, subject string, p Record) error {
	switch {
	case subject == "":
		rec.Subject = p.Subject
	case subject != p.Subject:
		return &FieldError{Field: "Subject", Reason: "differs from the subject of the parent's grant"}
	default:
		rec.Subject = subject
	}
	return nil
}

// revokeGrant revokes every member of grant not revoked yet, with one new
// sequence number, appending their index entries to revs.
func revokeGrant(ctx context.Context, tx Tx, grant ID, revs []Revocation) ([]Revocation, error) {
	members, err := liveMembers(ctx, tx, grant)
	if err != nil {
		return revs, err
	}
	return revokeRecords(ctx, tx, &members, revs)
}

// recordOf returns the record of t, without its grant, its ID and its
// parent's under the token key (see WithTokenKey). A value or parent that
// the key function refuses, or a parent that is the token itself under
// another spelling, is a *FieldError.
func (r *Revoker) recordOf(t Token) (Record, error) {
	id, check, ok := r.tokenID(t.Value)
	if !ok {
		return Record{}, &FieldError{Field: "Value", Reason: reasonUnkeyed}
	}
	rec := Record{
		ID:        id,
		Check:     check,
		Kind:      t.Kind,
		ClientID:  t.ClientID,
		Subject:   t.Subject,
		ExpiresAt: t.ExpiresAt.Round(0).UTC(),
		Status:    t.Status,
	}
	if t.Parent != "" {
		if rec.Parent, _, ok = r.tokenID(t.Parent); !ok {
			return Record{}, &FieldError{Field: "Parent", Reason: reasonUnkeyed}
		}
		if rec.Parent == rec.ID {
			return Record{}, &FieldError{Field: "Parent", Reason: "is the token itself"}
		}
	}
	return rec, nil
}

func boolCount(b bool) int {
	if b {
		return 1
	}
	return 0
}
