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
//
// A write transaction keeps what Put and Delete write in pending, and the
// Seqs SetSeq sets in seqs, and writes them all at once: before a statement
// that reads more than one record (Grant, Grants, RevokedSince, Expired,
// Scan) and before the commit. So a cascade over a grant of any size, the
// Issues of a group commit, or a purge batch cost one statement each, not
// one per record. Get answers from pending for the IDs it holds, and lays
// the Seq in seqs over what it reads for those seqs holds: no other row is
// changed by what they hold. Reads go the same way: Prefetch reads the
// records a group commit checks in one statement, and Get answers from
// them (see prefetch.go).
type tx struct {
	s    *Store
	conn *sqlx.Conn
	sqlrecord.TxState

	pending map[revoke.ID]pendingWrite
	// seqs holds the Seqs SetSeq set on IDs the transaction has not
	// written, to be sent at the next flush: pending and seqs never share
	// an ID.
	seqs map[revoke.ID]seqNote
	// lastGrant is the grant Grant read last, until the next Put or
	// Delete.
	lastGrant grantRead
	// cache holds what Prefetch read, for the IDs the transaction has
	// not written since: note drops an ID from it.
	cache map[revoke.ID]cached
	// seq is the sequence counter as the transaction last set it (by
	// NextSeq or raiseSeq), 0 if it has not: the commit sends a NOTIFY
	// when it is set.
	seq uint64
	// raise is the highest Seq Put or SetSeq wrote as given, above seq,
	// that the counter has not been raised to yet (see raiseSeq), or 0.
	raise uint64
}

// pendingWrite is the last write of an ID in the transaction.
type pendingWrite struct {
	rec     revoke.Record
	deleted bool
}

var _ revoke.Tx = (*tx)(nil)

// check returns why the transaction cannot run op: it has ended, or a
// context is done.
func (t *tx) check(ctx context.Context, op string, write bool) error {
	return t.Check(ctx, "postgres", op, write)
}

// fail wraps a statement's error, with ctx's if ctx is done.
func (t *tx) fail(ctx context.Context, op string, err error) error {
	return t.s.ctxErr(ctx, wrapf(err, "%s", op))
}

// Get returns the record whose ID is id; found is false if there is none.
func (t *tx) Get(ctx context.Context, id revoke.ID) (revoke.Record, bool, error) {
	if err := t.check(ctx, "Get", false); err != nil {
		return revoke.Record{}, false, err
	}
	if p, ok := t.pending[id]; ok {
		return p.rec, !p.deleted, nil
	}
	rec, found, err := t.cached(ctx, id)
	if n, ok := t.seqs[id]; ok && found {
		rec.Seq = n.seq
	}
	return rec, found, err
}

// cached returns the record of id as Prefetch read it, or from the table.
func (t *tx) cached(ctx context.Context, id revoke.ID) (revoke.Record, bool, error) {
	if c, ok := t.cache[id]; ok {
		return c.rec, c.found, nil
	}
	return t.read(ctx, "Get", id)
}

// read reads the record of id from the table, for op.
func (t *tx) read(ctx context.Context, op string, id revoke.ID) (revoke.Record, bool, error) {
	var r row
	err := t.conn.GetContext(ctx, &r, t.s.q.get, id[:])
	if errors.Is(err, sql.ErrNoRows) {
		return revoke.Record{}, false, nil
	}
	if err != nil {
		return revoke.Record{}, false, t.fail(ctx, op, err)
	}
	rec, err := r.record()
	if err != nil {
		return revoke.Record{}, false, err
	}
	return rec, true, nil
}

// Put inserts rec or replaces the record with its ID, at the next flush.
func (t *tx) Put(ctx context.Context, rec revoke.Record) error {
	if err := t.check(ctx, "Put", true); err != nil {
		return err
	}
	if err := checkRecord(rec); err != nil {
		return err
	}
	t.note(rec.ID, pendingWrite{rec: rec})
	// A revocation carries the number NextSeq just returned: nothing to
	// raise. A record imported with its Seq may be above the counter.
	if rec.Seq > t.seq {
		t.raise = max(t.raise, rec.Seq)
	}
	return nil
}

// Delete removes the record whose ID is id, if there is one, at the next
// flush.
func (t *tx) Delete(ctx context.Context, id revoke.ID) error {
	if err := t.check(ctx, "Delete", true); err != nil {
		return err
	}
	t.note(id, pendingWrite{deleted: true})
	return nil
}

// note records w as the last write of id, to be sent at the next flush,
// and forgets what Prefetch read of id, which the write makes stale.
func (t *tx) note(id revoke.ID, w pendingWrite) {
	delete(t.cache, id)
	delete(t.seqs, id)
	t.lastGrant.rows.Reset()
	if t.pending == nil {
		t.pending = make(map[revoke.ID]pendingWrite)
	}
	t.pending[id] = w
}

// flush writes the pending writes: one DELETE for the deleted IDs, one
// INSERT ... ON CONFLICT for the records put, one UPDATE for the Seqs
// SetSeq set, and the sequence counter if a record was put with a Seq above
// it.
func (t *tx) flush(ctx context.Context) error {
	if err := t.raiseSeq(ctx); err != nil {
		return err
	}
	if err := t.sendSeqs(ctx); err != nil {
		return err
	}
	if len(t.pending) == 0 {
		return nil
	}
	var (
		cols    columns
		deleted [][]byte
	)
	for id, w := range t.pending {
		if w.deleted {
			deleted = append(deleted, id[:])
			continue
		}
		cols.add(&w.rec)
	}
	if len(deleted) > 0 {
		if _, err := t.conn.ExecContext(ctx, t.s.q.del, deleted); err != nil {
			return t.fail(ctx, "Delete", err)
		}
	}
	if cols.len() > 0 {
		if _, err := t.conn.ExecContext(ctx, t.s.q.upsert, cols.args()...); err != nil {
			return t.fail(ctx, "Put", err)
		}
	}
	clear(t.pending)
	return nil
}

// Grant calls fn for every record of the grant: a range of the primary
// key. A grant is small; its records are read before fn is called.
func (t *tx) Grant(ctx context.Context, grant revoke.ID, fn func(revoke.Record) error) error {
	if err := t.check(ctx, "Grant", false); err != nil {
		return err
	}
	if err := t.flush(ctx); err != nil {
		return err
	}
	var rows []row
	if err := t.conn.SelectContext(ctx, &rows, t.s.q.grant, grant[:]); err != nil {
		return t.fail(ctx, "Grant", err)
	}
	if t.Write {
		t.noteGrant(grant, rows)
	}
	return each(rows, fn)
}

// noteGrant keeps the IDs of the rows of grant as t.lastGrant, for SetSeq.
func (t *tx) noteGrant(grant revoke.ID, rows []row) {
	t.lastGrant.grant = grant
	t.lastGrant.rows.Reset()
	for i := range rows {
		if len(rows[i].ID) != len(revoke.ID{}) {
			t.lastGrant.rows.Reset() // not an ID: each reports it
			return
		}
		t.lastGrant.rows.Add(revoke.ID(rows[i].ID))
	}
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
	if err := t.flush(ctx); err != nil {
		return err
	}
	var rows []row
	if err := t.conn.SelectContext(ctx, &rows, t.s.q.expired, sqlrecord.ClampNano(before), limit); err != nil {
		return t.fail(ctx, "Expired", err)
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
	if err := t.flush(ctx); err != nil {
		return err
	}
	// On a pgx connection (always, with Open), read the rows' binary
	// values in place: a start-up load of millions of revocations then
	// costs no allocation and no reflection per row.
	native := false
	err := t.conn.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return nil
		}
		native = true
		return t.revokedSinceNative(ctx, pc.Conn(), seq, fn)
	})
	if native || err != nil {
		return err
	}
	rows, err := t.conn.QueryxContext(ctx, t.s.q.revokedSince, int64(seq))
	if err != nil {
		return t.fail(ctx, "RevokedSince", err)
	}
	defer rows.Close()
	var r revRow
	for rows.Next() {
		if err := rows.StructScan(&r); err != nil {
			return t.fail(ctx, "RevokedSince", err)
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
		return t.fail(ctx, "RevokedSince", err)
	}
	return nil
}

// revokedSinceNative is RevokedSince through pgx's own interface.
func (t *tx) revokedSinceNative(ctx context.Context, c *pgx.Conn, seq uint64, fn func(revoke.Revocation) error) error {
	rows, err := c.Query(ctx, t.s.q.revokedSince, int64(seq))
	if err != nil {
		return t.fail(ctx, "RevokedSince", err)
	}
	defer rows.Close()
	binary := true
	for _, fd := range rows.FieldDescriptions() {
		binary = binary && fd.Format == pgx.BinaryFormatCode
	}
	var r revRow
	for rows.Next() {
		if v := rows.RawValues(); binary && len(v) == 6 && len(v[1]) == 8 && len(v[2]) == 8 && len(v[3]) == 8 && len(v[4]) == 8 && len(v[5]) == 8 {
			r = revRow{
				ID:          v[0], // copied by revocation
				Check:       int64(binary64(v[1])),
				ExpiresAt:   int64(binary64(v[2])),
				Seq:         int64(binary64(v[3])),
				StatusList:  int64(binary64(v[4])),
				StatusIndex: int64(binary64(v[5])),
			}
		} else if err := rows.Scan(&r.ID, &r.Check, &r.ExpiresAt, &r.Seq, &r.StatusList, &r.StatusIndex); err != nil {
			return t.fail(ctx, "RevokedSince", err)
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
		return t.fail(ctx, "RevokedSince", err)
	}
	return nil
}

// binary64 decodes a bigint in PostgreSQL's binary format.
func binary64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// NextSeq returns the next revocation sequence number from the counter row
// of the meta table. The row stays locked to the end of the transaction,
// which holds the Store's advisory lock besides: no other transaction gets
// a number until this one has committed or rolled back.
func (t *tx) NextSeq(ctx context.Context) (uint64, error) {
	if err := t.check(ctx, "NextSeq", true); err != nil {
		return 0, err
	}
	if t.seq >= math.MaxInt64 || t.raise >= math.MaxInt64 {
		return 0, errors.New("postgres: NextSeq: the revocation sequence is exhausted")
	}
	// The number is above the Seqs put as given, too (see raiseSeq).
	var v int64
	if err := t.conn.GetContext(ctx, &v, t.s.q.nextSeq, int64(t.raise)); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("%w: table %s has no sequence row", ErrCorrupt, t.s.q.meta)
		}
		return 0, t.fail(ctx, "NextSeq", err)
	}
	if v <= 0 {
		return 0, fmt.Errorf("%w: sequence %d in table %s", ErrCorrupt, v, t.s.q.meta)
	}
	t.seq, t.raise = uint64(v), 0
	return t.seq, nil
}

// Grants calls fn for at most limit grants of the subject or client key
// above after, in ascending order: a range of the subject or client index,
// read after the transaction's pending writes are flushed.
func (t *tx) Grants(ctx context.Context, by revoke.Owner, key string, after revoke.ID, limit int, fn func(revoke.ID) error) error {
	if err := t.check(ctx, "Grants", false); err != nil {
		return err
	}
	query, none, err := sqlrecord.GrantsQuery("postgres", by, key, limit, t.s.q.subjectGrants, t.s.q.clientGrants)
	if none || err != nil {
		return err
	}
	if err := t.flush(ctx); err != nil {
		return err
	}
	var grants [][]byte
	if err := t.conn.SelectContext(ctx, &grants, query, key, after[:], limit); err != nil {
		return t.fail(ctx, "Grants", err)
	}
	for _, b := range grants {
		g, err := idOf(b, "grant ID")
		if err != nil {
			return err
		}
		if err := fn(g); err != nil {
			return err
		}
	}
	return nil
}
