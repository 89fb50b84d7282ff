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
//     ErrReused. With a grace window (RotationPolicy.ReuseGrace), the immediately
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
	if _, ok := r.tokenKey(old); !ok {
		return &FieldError{Field: "old", Reason: reasonUnkeyed}
	}
	next.Parent = old
	if err := validate(next, now); err != nil {
		return err
	}
	rec, err := r.recordOf(next)
	if err != nil {
		return err
	}
	ro := &rotation{r: r, rec: rec, subject: next.Subject, now: now}
	if err := r.commit.do(ctx, []ID{rec.Parent, rec.ID}, ro.run); err != nil {
		r.storeError(ctx, "Rotate", err)
		return fmt.Errorf("revoke: Rotate: %w", err)
	}
	r.indexed(ro.revoked)
	switch {
	case errors.Is(ro.outcome, ErrReused):
		r.reused("Rotate", ro.parent, len(ro.revoked))
	case ro.outcome == nil && ro.wrote:
		r.observeRecord(EventRotated, "Rotate", ro.rec, boolCount(ro.retried))
	}
	return ro.outcome
}

// rotation is the transaction of one Rotate, which the committer may run
// more than once: run starts by resetting what it records.
type rotation struct {
	r       *Revoker
	rec     Record // the new token's
	subject string // the Subject Rotate was given
	now     time.Time

	outcome error        // the refusal Rotate returns, or nil
	parent  Record       // the rotated token's record
	revoked []Revocation // what reuse revoked
	retried bool         // a grace retry
	wrote   bool         // the rotation was Put
}

func (ro *rotation) run(ctx context.Context, t *txn) error {
	ro.outcome, ro.revoked, ro.retried, ro.wrote = nil, ro.revoked[:0], false, false
	p, found, err := t.get(ctx, ro.rec.Parent)
	if err != nil {
		return err
	}
	ro.parent = p
	if ro.outcome = checkParent(p, found, ro.rec.ClientID, ro.now); ro.outcome != nil {
		return nil
	}
	if ro.outcome = inherit(&ro.rec, ro.subject, p); ro.outcome != nil {
		return nil
	}
	ro.rec.Grant = p.Grant
	if decided, err := ro.checkNew(ctx, t, p); decided || err != nil {
		return err
	}
	if p.Spent() {
		ok, err := ro.r.graceRetry(ctx, t, p, ro.now)
		if err != nil {
			return err
		}
		if !ok {
			ro.outcome = fmt.Errorf("%w: the token was already rotated; its grant is revoked", ErrReused)
			ro.revoked, err = t.revokeGrants(ctx, []ID{p.Grant}, ro.revoked)
			return err
		}
		ro.retried = true
		p.Retries++
	}
	// The grace window runs from the first rotation: a grace retry
	// replaces the successor but not RotatedAt, so retries cannot slide
	// the window forward.
	p.Successor = ro.rec.ID
	if !ro.retried {
		p.RotatedAt = ro.now.Round(0).UTC()
	}
	t.put(p)
	t.put(ro.rec)
	ro.wrote = true
	return nil
}

// checkNew reads the new token's record, if any, and reports whether that
// decided the outcome: a retry of this very rotation (nil), or a refusal.
func (ro *rotation) checkNew(ctx context.Context, t *txn, p Record) (bool, error) {
	n, found, err := t.get(ctx, ro.rec.ID)
	switch {
	case err != nil:
		return true, err
	case !found:
		return false, nil
	case n.Revoked():
		ro.outcome = fmt.Errorf("%w: the new token itself was revoked", ErrRevoked)
	case p.Successor == ro.rec.ID && sameIssue(n, ro.rec):
		// a retry of this very rotation
	default:
		ro.outcome = ErrAlreadyIssued
	}
	return true, nil
}

// graceRetry reports whether presenting p, a spent refresh token, again is
// a grace retry (see RotationPolicy.ReuseGrace), and if so marks the successor it
// replaces as superseded.
func (r *Revoker) graceRetry(ctx context.Context, t *txn, p Record, now time.Time) (bool, error) {
	g := r.opts.life
	if g.reuseGrace <= 0 || p.Superseded || p.Successor.IsZero() ||
		int(p.Retries) >= g.graceRetries || now.Sub(p.RotatedAt) >= g.reuseGrace {
		return false, nil
	}
	s, found, err := t.get(ctx, p.Successor)
	if err != nil || !found || s.Spent() || s.Revoked() {
		// The successor was rotated in turn (p is not the immediately
		// previous token), revoked, or is gone: no grace.
		return false, err
	}
	s.Superseded = true
	t.put(s)
	return true, nil
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
