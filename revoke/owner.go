package revoke

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// errStoreContract reports a Store that broke the Tx contract.
var errStoreContract = errors.New("revoke: store broke the Tx contract")

// RevokeSubject revokes every grant of subject, across clients ("log out
// everywhere": a password change, a locked account, "sign out of all
// devices"), with the grant cascade, and returns how many tokens it newly
// revoked.
//
// When RevokeSubject returns nil, every token of subject issued before the
// call started and still on record is revoked, whatever its expiry, and an
// Issue or Rotate racing it under a
// parent of subject's fails with ErrRevoked or is revoked by it. Grants
// started after it returns are live: the user may log in again, so refuse
// logins first if that is not wanted.
//
// The grants are revoked in transactions of at most the owner batch (see
// WithOwnerBatch), each grant whole in one transaction. On error, the
// batches already committed stay revoked; call again to finish. An empty
// subject is a *FieldError: it would name every token issued without one.
func (r *Revoker) RevokeSubject(ctx context.Context, subject string) (int, error) {
	if subject == "" {
		return 0, &FieldError{Field: "subject", Reason: "is empty"}
	}
	if err := checkSubject("subject", subject); err != nil {
		return 0, err
	}
	return r.revokeOwner(ctx, "RevokeSubject", BySubject, subject)
}

// RevokeClient revokes every grant of clientID (a leaked client secret, a
// client taken down), with the grant cascade, and returns how many tokens it
// newly revoked. Its guarantees, batches and errors are RevokeSubject's.
func (r *Revoker) RevokeClient(ctx context.Context, clientID string) (int, error) {
	if err := checkClientID("clientID", clientID); err != nil {
		return 0, err
	}
	return r.revokeOwner(ctx, "RevokeClient", ByClient, clientID)
}

// revokeOwner revokes the grants that Tx.GrantsOf lists for by and key, in
// batches, walking the grant IDs in ascending order with a cursor.
//
// Why the cursor keeps the guarantee across batches without a marker: a
// grant is revoked whole, in one transaction, and a token joins an existing
// grant only through a parent of that grant (Issue or Rotate), which must
// be live when it commits. Take a grant that exists when the call starts.
// A token that joins it before the batch covering it commits is revoked by
// that batch, which reads the grant's members in its own transaction; a
// token that tries to join it afterwards finds its parent revoked and fails
// with ErrRevoked. A grant's ID never changes, so the cursor cannot skip
// it. Only grants started after the call began (new logins) may fall
// behind the cursor, and those are not covered.
func (r *Revoker) revokeOwner(ctx context.Context, op string, by Owner, key string) (int, error) {
	if r.closed.Load() {
		return 0, ErrClosed
	}
	ev := Event{Kind: EventRevoked, Op: op, Reason: ReasonSubject}
	if by == ByClient {
		ev.Reason, ev.ClientID = ReasonClient, key
	} else {
		ev.Subject = key
	}
	b := &ownerBatch{by: by, key: key, limit: r.opts.life.ownerBatch}
	total := 0
	for {
		if err := r.commit.do(ctx, nil, b.run); err != nil {
			r.storeError(ctx, op, err)
			if total > 0 {
				ev.Count = total
				r.observe(ev)
			}
			return total, fmt.Errorf("revoke: %s: %w", op, err)
		}
		r.indexed(b.revoked)
		total += len(b.revoked)
		if len(b.grants) < b.limit {
			break
		}
		b.after = b.grants[len(b.grants)-1]
	}
	ev.Count = total
	r.observe(ev)
	return total, nil
}

// ownerBatch is the transaction of one batch of revokeOwner: the grants of
// by and key after the cursor, at most limit, each revoked whole. The
// committer may run it more than once: run starts by resetting what it
// records.
type ownerBatch struct {
	by    Owner
	key   string
	limit int
	after ID // the cursor: the last grant of the batch before

	grants  []ID
	revoked []Revocation
}

func (b *ownerBatch) run(ctx context.Context, t *txn) error {
	grants, err := t.grantsOf(ctx, b.by, b.key, b.after, b.limit)
	if err != nil {
		return err
	}
	// A Store that repeats or reorders grants would make the walk loop or
	// skip: refuse it.
	prev := b.after
	for _, g := range grants {
		if bytes.Compare(g[:], prev[:]) <= 0 {
			return fmt.Errorf("%w: GrantsOf listed grant IDs out of order", errStoreContract)
		}
		prev = g
	}
	if len(grants) > b.limit {
		return fmt.Errorf("%w: GrantsOf listed %d grants, over its limit %d", errStoreContract, len(grants), b.limit)
	}
	b.grants = grants
	b.revoked, err = t.revokeGrants(ctx, grants, b.revoked[:0])
	return err
}
