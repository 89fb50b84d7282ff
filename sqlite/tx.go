package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
)

// tx is a transaction of a Store, bound to the connection that began it.
type tx struct {
	s     *Store
	conn  *sqlx.Conn
	ctx   context.Context // View's or Update's
	write bool
	done  bool

	// The sequence counter, read from the meta table at the first NextSeq
	// and written back once, by flush, before the commit.
	seq       uint64
	seqLoaded bool
	seqDirty  bool

	// Statements prepared at first use and reused for the rest of the
	// transaction (a cascade puts every member of a grant, a purge deletes
	// a batch).
	getStmt *sqlx.Stmt
	putStmt *sqlx.NamedStmt
	delStmt *sqlx.Stmt
}

var _ revoke.Tx = (*tx)(nil)

var (
	errTxDone   = errors.New("the transaction has ended")
	errReadOnly = errors.New("write in a read-only transaction")
)

// check returns why the transaction cannot run op: it has ended, or a
// context is done.
func (t *tx) check(ctx context.Context, op string, write bool) error {
	switch {
	case t.done:
		return fmt.Errorf("sqlite: %s: %w", op, errTxDone)
	case write && !t.write:
		return fmt.Errorf("sqlite: %s: %w", op, errReadOnly)
	}
	if err := t.ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return nil
}

// end closes the prepared statements and invalidates the Tx.
func (t *tx) end() {
	if t.done {
		return
	}
	t.done = true
	for _, st := range []*sqlx.Stmt{t.getStmt, t.delStmt} {
		if st != nil {
			_ = st.Close()
		}
	}
	if t.putStmt != nil {
		_ = t.putStmt.Close()
	}
	t.getStmt, t.delStmt, t.putStmt = nil, nil, nil
}

// prepare returns *st, preparing query on the transaction's connection at
// the first call.
func (t *tx) prepare(ctx context.Context, st **sqlx.Stmt, query string) (*sqlx.Stmt, error) {
	if *st == nil {
		p, err := t.conn.PreparexContext(ctx, query)
		if err != nil {
			return nil, err
		}
		*st = p
	}
	return *st, nil
}

// Get returns the record whose ID is id; found is false if there is none.
func (t *tx) Get(ctx context.Context, id revoke.ID) (revoke.Record, bool, error) {
	if err := t.check(ctx, "Get", false); err != nil {
		return revoke.Record{}, false, err
	}
	st, err := t.prepare(ctx, &t.getStmt, t.s.q.get)
	if err != nil {
		return revoke.Record{}, false, wrapf(err, "Get")
	}
	var r row
	err = st.GetContext(ctx, &r, id[:])
	if errors.Is(err, sql.ErrNoRows) {
		return revoke.Record{}, false, nil
	}
	if err != nil {
		return revoke.Record{}, false, wrapf(err, "Get")
	}
	rec, err := r.record()
	if err != nil {
		return revoke.Record{}, false, err
	}
	return rec, true, nil
}

// Put inserts rec or replaces the record with its ID. The table's indexes
// (grant, expiry, sequence) follow in the same statement.
func (t *tx) Put(ctx context.Context, rec revoke.Record) error {
	if err := t.check(ctx, "Put", true); err != nil {
		return err
	}
	r, err := rowOf(rec)
	if err != nil {
		return err
	}
	if t.putStmt == nil {
		// sqlx.Conn cannot prepare a named statement; bind the compiled
		// one to a statement prepared on this connection.
		st, err := t.conn.PreparexContext(ctx, t.s.q.putBound)
		if err != nil {
			return wrapf(err, "Put")
		}
		t.putStmt = &sqlx.NamedStmt{QueryString: t.s.q.putBound, Params: t.s.q.putParams, Stmt: st}
	}
	if _, err := t.putStmt.ExecContext(ctx, &r); err != nil {
		return wrapf(err, "Put")
	}
	return nil
}

// Delete removes the record whose ID is id, if there is one.
func (t *tx) Delete(ctx context.Context, id revoke.ID) error {
	if err := t.check(ctx, "Delete", true); err != nil {
		return err
	}
	st, err := t.prepare(ctx, &t.delStmt, t.s.q.del)
	if err != nil {
		return wrapf(err, "Delete")
	}
	if _, err := st.ExecContext(ctx, id[:]); err != nil {
		return wrapf(err, "Delete")
	}
	return nil
}

// Grant calls fn for every record of the grant, found through the grant
// index. A grant is small; its records are read before fn is called.
func (t *tx) Grant(ctx context.Context, grant revoke.ID, fn func(revoke.Record) error) error {
	if err := t.check(ctx, "Grant", false); err != nil {
		return err
	}
	var rows []row
	if err := t.conn.SelectContext(ctx, &rows, t.s.q.grant, grant[:], grant[:]); err != nil {
		return wrapf(err, "Grant")
	}
	return each(rows, fn)
}

// Expired calls fn for at most limit records that expire before before,
// found through the expiry index.
func (t *tx) Expired(ctx context.Context, before time.Time, limit int, fn func(revoke.Record) error) error {
	if err := t.check(ctx, "Expired", false); err != nil {
		return err
	}
	if limit <= 0 {
		return nil
	}
	var rows []row
	if err := t.conn.SelectContext(ctx, &rows, t.s.q.expired, clampNano(before), limit); err != nil {
		return wrapf(err, "Expired")
	}
	return each(rows, fn)
}

func each(rows []row, fn func(revoke.Record) error) error {
	for i := range rows {
		rec, err := rows[i].record()
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// RevokedSince streams the revocations whose Seq is above seq, in Seq
// order, from the partial index on seq, one row at a time: a start-up load
// of millions of revocations never holds them all.
func (t *tx) RevokedSince(ctx context.Context, seq uint64, fn func(revoke.Revocation) error) error {
	if err := t.check(ctx, "RevokedSince", false); err != nil {
		return err
	}
	if seq >= math.MaxInt64 {
		return nil // no stored Seq is above it
	}
	rows, err := t.conn.QueryxContext(ctx, t.s.q.revokedSince, int64(seq))
	if err != nil {
		return wrapf(err, "RevokedSince")
	}
	defer rows.Close()
	var r revRow
	for rows.Next() {
		if err := rows.StructScan(&r); err != nil {
			return wrapf(err, "RevokedSince")
		}
		rev, err := r.revocation()
		if err != nil {
			return err
		}
		if err := fn(rev); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return wrapf(err, "RevokedSince")
	}
	return nil
}

// NextSeq returns the next revocation sequence number. The counter lives in
// the meta table; it is read once, in this write-locked transaction, so no
// other process can hand out the same numbers, and written back by flush.
func (t *tx) NextSeq(ctx context.Context) (uint64, error) {
	if err := t.check(ctx, "NextSeq", true); err != nil {
		return 0, err
	}
	if !t.seqLoaded {
		var v int64
		if err := t.conn.GetContext(ctx, &v, t.s.q.getSeq); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return 0, fmt.Errorf("%w: table %smeta has no sequence row", ErrCorrupt, t.s.q.prefix)
			}
			return 0, wrapf(err, "NextSeq")
		}
		if v < 0 {
			return 0, fmt.Errorf("%w: negative sequence %d in table %smeta", ErrCorrupt, v, t.s.q.prefix)
		}
		t.seq, t.seqLoaded = uint64(v), true
	}
	if t.seq >= math.MaxInt64 {
		return 0, errors.New("sqlite: NextSeq: the revocation sequence is exhausted")
	}
	t.seq++
	t.seqDirty = true
	return t.seq, nil
}

// flush writes the sequence counter back if NextSeq moved it.
func (t *tx) flush(ctx context.Context) error {
	if !t.seqDirty {
		return nil
	}
	if _, err := t.conn.ExecContext(ctx, t.s.q.setSeq, int64(t.seq)); err != nil {
		return wrapf(err, "writing the sequence")
	}
	return nil
}
