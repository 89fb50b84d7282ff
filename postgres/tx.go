package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// tx is a transaction of a Store, bound to the connection that began it.
// Each method runs one statement when called: the transaction keeps no
// record, read or written, of its own.
type tx struct {
	s    *Store
	conn *sqlx.Conn
	sqlrecord.TxState

	// seq is the highest sequence number the transaction drew (NextSeq),
	// set (RevokeGrants) or Put, 0 if none: the commit sends a NOTIFY when
	// it is set.
	seq uint64
}

var _ revoke.Tx = (*tx)(nil)

// check returns why the transaction cannot run op: it has ended, it is
// read-only and op writes, or a context is done.
func (t *tx) check(ctx context.Context, op string, write bool) error {
	return t.Check(ctx, "postgres", op, write)
}

// fail wraps a statement's error, with ctx's if ctx is done.
func (t *tx) fail(ctx context.Context, op string, err error) error {
	return t.s.ctxErr(ctx, wrapf(err, "%s", op))
}

// Get reads the records of ids from the unique index on id, in one
// statement.
func (t *tx) Get(ctx context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	if err := t.check(ctx, "Get", false); err != nil || len(ids) == 0 {
		return nil, err
	}
	var (
		rows []row
		err  error
	)
	if len(ids) == 1 {
		// PostgreSQL plans the statement of one ID once per connection,
		// and the ANY of one ID anew at each run, which costs a lone
		// writer more than the statement saves.
		err = t.conn.SelectContext(ctx, &rows, t.s.q.get, ids[0][:])
	} else {
		err = t.conn.SelectContext(ctx, &rows, t.s.q.getMany, idArgs(ids))
	}
	if err != nil {
		return nil, t.fail(ctx, "Get", err)
	}
	return records(rows)
}

// idArgs returns ids as the elements of a bytea[] argument.
func idArgs(ids []revoke.ID) [][]byte {
	b := make([][]byte, len(ids))
	for i := range ids {
		b[i] = ids[i][:]
	}
	return b
}

// records decodes rows.
func records(rows []row) ([]revoke.Record, error) {
	recs := make([]revoke.Record, len(rows))
	for i := range rows {
		var err error
		if recs[i], err = rows[i].record(); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// Put writes recs in one statement: an INSERT ... ON CONFLICT of them all,
// which adds the owner rows of their grants that are missing and raises
// the sequence counter to the highest Seq put (an import's), under the
// same locks as NextSeq.
func (t *tx) Put(ctx context.Context, recs []revoke.Record) error {
	if err := t.check(ctx, "Put", true); err != nil || len(recs) == 0 {
		return err
	}
	var (
		cols   columns
		maxSeq uint64
	)
	for i := range recs {
		if err := checkRecord(recs[i]); err != nil {
			return err
		}
		cols.add(&recs[i])
		maxSeq = max(maxSeq, recs[i].Seq)
	}
	if _, err := t.conn.ExecContext(ctx, t.s.q.put, append(cols.args(), int64(maxSeq))...); err != nil {
		return t.fail(ctx, "Put", err)
	}
	// A revocation carries a number the transaction drew; an import, a
	// number other processes must hear of.
	t.seq = max(t.seq, maxSeq)
	return nil
}

// Delete removes the records of ids, and the owner rows of the grants it
// leaves without a record, in one statement.
func (t *tx) Delete(ctx context.Context, ids []revoke.ID) error {
	if err := t.check(ctx, "Delete", true); err != nil || len(ids) == 0 {
		return err
	}
	if _, err := t.conn.ExecContext(ctx, t.s.q.del, idArgs(ids)); err != nil {
		return t.fail(ctx, "Delete", err)
	}
	return nil
}

// RevokeGrants sets seq on the unrevoked records of grants in one UPDATE
// over the grants' ranges of the primary key.
func (t *tx) RevokeGrants(ctx context.Context, seq uint64, grants []revoke.ID) ([]revoke.Revocation, error) {
	if err := t.check(ctx, "RevokeGrants", true); err != nil || len(grants) == 0 {
		return nil, err
	}
	if seq == 0 || seq > math.MaxInt64 {
		return nil, fmt.Errorf("postgres: RevokeGrants: sequence number %d is not between 1 and 2^63-1", seq)
	}
	var rows []revRow
	if err := t.conn.SelectContext(ctx, &rows, t.s.q.revokeGrants, int64(seq), idArgs(grants)); err != nil {
		return nil, t.fail(ctx, "RevokeGrants", err)
	}
	revs := make([]revoke.Revocation, len(rows))
	for i := range rows {
		var err error
		if revs[i], err = rows[i].revocation(); err != nil {
			return nil, err
		}
	}
	t.seq = max(t.seq, seq)
	return revs, nil
}

// GrantsOf reads at most limit grants of the subject or client key above
// after, in ascending order: a range of the owners table's primary key.
func (t *tx) GrantsOf(ctx context.Context, by revoke.Owner, key string, after revoke.ID, limit int) ([]revoke.ID, error) {
	if err := t.check(ctx, "GrantsOf", false); err != nil {
		return nil, err
	}
	if by != revoke.BySubject && by != revoke.ByClient {
		return nil, fmt.Errorf("postgres: GrantsOf: unknown owner %v", by)
	}
	if limit <= 0 || (by == revoke.BySubject && key == "") {
		return nil, nil
	}
	var grants [][]byte
	if err := t.conn.SelectContext(ctx, &grants, t.s.q.grantsOf, int16(by), key, after[:], limit); err != nil {
		return nil, t.fail(ctx, "GrantsOf", err)
	}
	return idsOf(grants, "grant ID")
}

// NextSeq returns the next revocation sequence number from the counter row
// of the meta table. The row stays locked to the end of the transaction,
// which holds the Store's advisory lock besides: no other transaction gets
// a number until this one has committed or rolled back.
func (t *tx) NextSeq(ctx context.Context) (uint64, error) {
	if err := t.check(ctx, "NextSeq", true); err != nil {
		return 0, err
	}
	if t.seq >= math.MaxInt64 {
		return 0, errors.New("postgres: NextSeq: the revocation sequence is exhausted")
	}
	var v int64
	if err := t.conn.GetContext(ctx, &v, t.s.q.nextSeq); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("%w: table %s has no sequence row", ErrCorrupt, t.s.q.meta)
		}
		return 0, t.fail(ctx, "NextSeq", err)
	}
	if v <= 0 {
		return 0, fmt.Errorf("%w: sequence %d in table %s", ErrCorrupt, v, t.s.q.meta)
	}
	t.seq = uint64(v)
	return t.seq, nil
}

// Expired reads the IDs of at most limit records that expire before
// before, from the expiry index.
func (t *tx) Expired(ctx context.Context, before time.Time, limit int) ([]revoke.ID, error) {
	if err := t.check(ctx, "Expired", false); err != nil || limit <= 0 {
		return nil, err
	}
	var found [][]byte
	if err := t.conn.SelectContext(ctx, &found, t.s.q.expired, sqlrecord.ClampNano(before), limit); err != nil {
		return nil, t.fail(ctx, "Expired", err)
	}
	return idsOf(found, "token ID")
}

// Scan reads at most limit records whose ID is above after, in ascending
// ID order: a range of the unique index on id.
func (t *tx) Scan(ctx context.Context, after revoke.ID, limit int) ([]revoke.Record, error) {
	if err := t.check(ctx, "Scan", false); err != nil || limit <= 0 {
		return nil, err
	}
	var rows []row
	if err := t.conn.SelectContext(ctx, &rows, t.s.q.scan, after[:], limit); err != nil {
		return nil, t.fail(ctx, "Scan", err)
	}
	return records(rows)
}
