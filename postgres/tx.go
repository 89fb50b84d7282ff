package postgres

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
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

// Get reads the records of ids from the unique index on id, in one
// statement.
func (t *tx) Get(ctx context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	if err := t.Check(ctx, "postgres", "Get", false); err != nil || len(ids) == 0 {
		return nil, err
	}
	query, arg := t.s.q.getMany, any(idArgs(ids))
	if len(ids) == 1 {
		// PostgreSQL plans the statement of one ID once per connection,
		// and the ANY of one ID anew at each run, which costs a lone
		// writer more than the statement saves.
		query, arg = t.s.q.get, ids[0][:]
	}
	var rows []row
	if err := t.conn.SelectContext(ctx, &rows, query, arg); err != nil {
		return nil, withCtx(ctx, wrapf(err, "Get"))
	}
	return decode(rows, (*row).record)
}

// idArgs returns ids as the elements of a bytea[] argument.
func idArgs(ids []revoke.ID) [][]byte {
	b := make([][]byte, len(ids))
	for i := range ids {
		b[i] = ids[i][:]
	}
	return b
}

// Put writes recs in one statement: an INSERT ... ON CONFLICT of them all,
// which adds the owner rows of their grants that are missing and raises
// the sequence counter to the highest Seq put (an import's), under the
// same locks as NextSeq.
func (t *tx) Put(ctx context.Context, recs []revoke.Record) error {
	if err := t.Check(ctx, "postgres", "Put", true); err != nil || len(recs) == 0 {
		return err
	}
	var maxSeq uint64
	for i := range recs {
		if err := sqlrecord.CheckRange(recs[i]); err != nil {
			return fmt.Errorf("postgres: Put: %w", err)
		}
		maxSeq = max(maxSeq, recs[i].Seq)
	}
	if _, err := t.conn.ExecContext(ctx, t.s.q.put, append(putArgs(recs), int64(maxSeq))...); err != nil {
		return withCtx(ctx, wrapf(err, "Put"))
	}
	// A revocation carries a number the transaction drew; an import, a
	// number other processes must hear of.
	t.seq = max(t.seq, maxSeq)
	return nil
}

// Delete removes the records of ids, and the owner rows of the grants it
// leaves without a record, in one statement.
func (t *tx) Delete(ctx context.Context, ids []revoke.ID) error {
	if err := t.Check(ctx, "postgres", "Delete", true); err != nil || len(ids) == 0 {
		return err
	}
	if _, err := t.conn.ExecContext(ctx, t.s.q.del, idArgs(ids)); err != nil {
		return withCtx(ctx, wrapf(err, "Delete"))
	}
	return nil
}

// RevokeGrants sets seq on the unrevoked records of grants in one UPDATE
// over the grants' ranges of the primary key.
func (t *tx) RevokeGrants(ctx context.Context, seq uint64, grants []revoke.ID) ([]revoke.Revocation, error) {
	if err := t.Check(ctx, "postgres", "RevokeGrants", true); err != nil || len(grants) == 0 {
		return nil, err
	}
	if seq == 0 || seq > math.MaxInt64 {
		return nil, fmt.Errorf("postgres: RevokeGrants: sequence number %d is not between 1 and 2^63-1", seq)
	}
	var rows []revRow
	if err := t.conn.SelectContext(ctx, &rows, t.s.q.revokeGrants, int64(seq), idArgs(grants)); err != nil {
		return nil, withCtx(ctx, wrapf(err, "RevokeGrants"))
	}
	t.seq = max(t.seq, seq)
	return decode(rows, (*revRow).revocation)
}

// GrantsOf reads at most limit grants of the subject or client key above
// after, in ascending order: a range of the owners table's primary key.
func (t *tx) GrantsOf(ctx context.Context, by revoke.Owner, key string, after revoke.ID, limit int) ([]revoke.ID, error) {
	if err := t.Check(ctx, "postgres", "GrantsOf", false); err != nil {
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
		return nil, withCtx(ctx, wrapf(err, "GrantsOf"))
	}
	return decode(grants, idOf)
}

// NextSeq returns the next revocation sequence number from the counter row
// of the meta table. The row stays locked to the end of the transaction,
// which holds the Store's advisory lock besides: no other transaction gets
// a number until this one has committed or rolled back.
func (t *tx) NextSeq(ctx context.Context) (uint64, error) {
	if err := t.Check(ctx, "postgres", "NextSeq", true); err != nil {
		return 0, err
	}
	if t.seq >= math.MaxInt64 {
		return 0, errors.New("postgres: NextSeq: the revocation sequence is exhausted")
	}
	var v int64
	if err := t.conn.GetContext(ctx, &v, t.s.q.nextSeq); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, corrupt("table %s has no sequence row", t.s.q.meta)
		}
		return 0, withCtx(ctx, wrapf(err, "NextSeq"))
	}
	if v <= 0 {
		return 0, corrupt("sequence %d in table %s", v, t.s.q.meta)
	}
	t.seq = uint64(v)
	return t.seq, nil
}

// RevokedSince streams the revocations whose Seq is above seq, in Seq
// order, from the partial index on seq, one row at a time: a start-up load
// of millions of revocations never holds them all, and reads each row's
// binary values in place, with no allocation or reflection per row.
func (t *tx) RevokedSince(ctx context.Context, seq uint64, fn func(revoke.Revocation) error) error {
	if err := t.Check(ctx, "postgres", "RevokedSince", false); err != nil || seq >= math.MaxInt64 {
		return err // no stored Seq is above MaxInt64
	}
	// The pool is pgx's: Open makes it, New checks it.
	return t.conn.Raw(func(dc any) error {
		rows, err := dc.(*stdlib.Conn).Conn().Query(ctx, t.s.q.revokedSince, int64(seq))
		if err != nil {
			return withCtx(ctx, wrapf(err, "RevokedSince"))
		}
		defer rows.Close()
		if err := t.eachRevocation(ctx, rows, fn); err != nil {
			return err
		}
		if err := rows.Err(); err != nil {
			return withCtx(ctx, wrapf(err, "RevokedSince"))
		}
		return nil
	})
}

// eachRevocation calls fn with the revocation of every row of rows.
func (t *tx) eachRevocation(ctx context.Context, rows pgx.Rows, fn func(revoke.Revocation) error) error {
	inPlace := true
	for _, fd := range rows.FieldDescriptions() {
		inPlace = inPlace && fd.Format == pgx.BinaryFormatCode
	}
	var r revRow
	for rows.Next() {
		if v := rows.RawValues(); inPlace && len(v) == 6 && len(v[1]) == 8 && len(v[2]) == 8 && len(v[3]) == 8 && len(v[4]) == 8 && len(v[5]) == 8 {
			be := binary.BigEndian
			r = revRow{ID: v[0], Check: int64(be.Uint64(v[1])), ExpiresAt: int64(be.Uint64(v[2])), Seq: int64(be.Uint64(v[3])),
				StatusList: int64(be.Uint64(v[4])), StatusIndex: int64(be.Uint64(v[5]))}
		} else if err := rows.Scan(&r.ID, &r.Check, &r.ExpiresAt, &r.Seq, &r.StatusList, &r.StatusIndex); err != nil {
			return withCtx(ctx, wrapf(err, "RevokedSince"))
		}
		rev, err := r.revocation() // copies r.ID
		if err != nil {
			return err
		}
		if err := fn(rev); err != nil {
			return err
		}
	}
	return nil
}

// Expired reads the IDs of at most limit records that expire before
// before, from the expiry index.
func (t *tx) Expired(ctx context.Context, before time.Time, limit int) ([]revoke.ID, error) {
	if err := t.Check(ctx, "postgres", "Expired", false); err != nil || limit <= 0 {
		return nil, err
	}
	var found [][]byte
	if err := t.conn.SelectContext(ctx, &found, t.s.q.expired, sqlrecord.ClampNano(before), limit); err != nil {
		return nil, withCtx(ctx, wrapf(err, "Expired"))
	}
	return decode(found, idOf)
}

// Scan reads at most limit records whose ID is above after, in ascending
// ID order: a range of the unique index on id.
func (t *tx) Scan(ctx context.Context, after revoke.ID, limit int) ([]revoke.Record, error) {
	if err := t.Check(ctx, "postgres", "Scan", false); err != nil || limit <= 0 {
		return nil, err
	}
	var rows []row
	if err := t.conn.SelectContext(ctx, &rows, t.s.q.scan, after[:], limit); err != nil {
		return nil, withCtx(ctx, wrapf(err, "Scan"))
	}
	return decode(rows, (*row).record)
}
