package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// tx is a transaction of a Store, bound to the connection that began it.
// It sends its statements in pipelines (pgx batches) on conn's pgx
// connection: the BEGIN goes out with the first statement, and the records
// Put wait for the next statement or the commit, so that a transaction that
// reads and then writes costs two round trips (see "Round trips" in the
// package documentation). It keeps no record, read or written, of its own.
type tx struct {
	s    *Store
	conn *sqlx.Conn
	pc   *pgx.Conn // conn's driver connection, used while conn is held
	sqlrecord.TxState

	// ahead are the statements sent before the next one: the BEGIN until
	// it is sent, then the Puts not yet sent.
	ahead []stmt
	begun bool // the BEGIN was sent

	// seq is the highest sequence number the transaction drew (NextSeq),
	// set (RevokeGrants) or Put, 0 if none: the commit sends a NOTIFY when
	// it is set.
	seq uint64
	// The revocation sequence as the transaction knows it (see NextSeq):
	// base is the counter as read, read whether it was; drawn is the last
	// number NextSeq returned, 0 if none, which the commit claims, with
	// imported, the highest Seq of an import Put once the counter was read.
	base     int64
	read     bool
	drawn    uint64
	imported uint64

	// absent holds the IDs a Get of this write transaction did not find
	// and no Put has written since: a Put of them inserts, and fails if
	// another transaction has inserted them meanwhile. locked holds the
	// grants whose lock the transaction holds (see "Concurrency" in the
	// package documentation).
	absent, locked map[revoke.ID]bool
	// waited is set once a statement of the transaction has waited for
	// grant locks: later ones only try them.
	waited bool
}

// stmt is a statement and its arguments; what names it in errors.
type stmt struct {
	sql  string
	args []any
	what string
}

var _ revoke.Tx = (*tx)(nil)

// send sends the statements ahead and then stmts in one pipeline, and
// returns the results of stmts, to be read in order, then closed.
func (t *tx) send(ctx context.Context, stmts ...stmt) (pgx.BatchResults, error) {
	ahead := t.ahead
	t.ahead = nil
	b := &pgx.Batch{}
	for _, s := range ahead {
		b.Queue(s.sql, s.args...)
	}
	for _, s := range stmts {
		b.Queue(s.sql, s.args...)
	}
	br := t.pc.SendBatch(ctx, b)
	t.begun = true
	for _, s := range ahead {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, withCtx(ctx, wrapf(err, "%s", s.what))
		}
	}
	return br, nil
}

// do sends stmts (after those ahead) in one round trip and calls each[i]
// with every row of stmts[i] (nil: the rows are skipped). An error of
// each is returned as it is.
func (t *tx) do(ctx context.Context, stmts []stmt, each ...func(pgx.Rows) error) error {
	br, err := t.send(ctx, stmts...)
	if err != nil {
		return err
	}
	for i, s := range stmts {
		var fn func(pgx.Rows) error
		if i < len(each) {
			fn = each[i]
		}
		if err, own := readRows(br, fn); err != nil {
			_ = br.Close()
			if own {
				return err
			}
			return withCtx(ctx, wrapf(err, "%s", s.what))
		}
	}
	if err := br.Close(); err != nil {
		return withCtx(ctx, wrapf(err, "%s", stmts[len(stmts)-1].what))
	}
	return nil
}

// readRows reads the next result of br, calling fn with each row; own
// reports that the error is fn's.
func readRows(br pgx.BatchResults, fn func(pgx.Rows) error) (err error, own bool) {
	rows, err := br.Query()
	if err != nil {
		return err, false
	}
	defer rows.Close()
	for rows.Next() {
		if fn == nil {
			continue
		}
		if err := fn(rows); err != nil {
			return err, true
		}
	}
	return rows.Err(), false
}

// Get reads the records of ids from the unique index on id, in one round
// trip. In a write transaction it locks their grants first (see
// getLocked).
func (t *tx) Get(ctx context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	if err := t.Check(ctx, "postgres", "Get", false); err != nil || len(ids) == 0 {
		return nil, err
	}
	if t.Write {
		return t.getLocked(ctx, ids)
	}
	var recs []revoke.Record
	err := t.do(ctx, []stmt{{t.s.q.getMany, []any{idArgs(ids)}, "Get"}}, collectRecords(&recs))
	return recs, err
}

// getLocked reads the records of ids in a write transaction, in one round
// trip of two statements: the first takes the locks of their grants (see
// lockStmt), the second reads them, in a snapshot taken once the locks are
// held. A record whose grant the first statement did not see (committed
// between the two) is read again once its grant is locked: the loop ends,
// since each turn locks a grant more, of at most len(ids).
func (t *tx) getLocked(ctx context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	arg := idArgs(ids)
	lock, got := t.lockStmt(t.s.q.lockGrantsOf, t.s.q.tryLockGrantsOf, arg, "Get")
	// The rows of the first lock statement name the grants it found; those
	// of a later one, of grants already noted, only say whether it took
	// each lock.
	lockRows := func(rows pgx.Rows) error {
		var g []byte
		var ok bool
		if err := rows.Scan(&g, &ok); err != nil {
			return wrapf(err, "Get")
		}
		id, err := idOf(&g)
		t.locked[id] = true
		return errors.Join(err, got(ok))
	}
	for {
		var recs []revoke.Record
		err := t.do(ctx, []stmt{lock, {t.s.q.getMany, []any{arg}, "Get"}}, lockRows, collectRecords(&recs))
		if err != nil {
			return nil, err
		}
		var late [][]byte
		for i := range recs {
			if !t.locked[recs[i].Grant] {
				late = append(late, recs[i].Grant[:])
				t.locked[recs[i].Grant] = true
			}
		}
		if len(late) == 0 {
			t.noteAbsent(ids, recs)
			return recs, nil
		}
		lock, got = t.lockStmt(t.s.q.lockGrants, t.s.q.tryLockGrants, late, "Get")
		lockRows = tookLocks(got, "Get")
	}
}

// tookLocks returns the row function of a statement of lockStmt over grant
// IDs (lockGrants, tryLockGrants), whose rows say whether it took each
// lock.
func tookLocks(got func(taken bool) error, what string) func(pgx.Rows) error {
	return func(rows pgx.Rows) error {
		var ok bool
		if err := rows.Scan(&ok); err != nil {
			return wrapf(err, "%s", what)
		}
		return got(ok)
	}
}

// lockStmt returns the statement that takes grant locks, of arg: wait, the
// first of the transaction, which waits for them, in the order of their
// keys; or try, for any later one, which takes only those free. A
// transaction waits only in its first such statement, holding no lock
// taken in another, so that two transactions never wait for each other:
// got returns, for the result of a row of try, errLockBusy when the lock
// was not free, and the transaction runs again (see conflicted).
func (t *tx) lockStmt(wait, try string, arg [][]byte, what string) (s stmt, got func(taken bool) error) {
	if !t.waited {
		t.waited = true
		return stmt{wait, []any{arg}, what + ": locking the grants"}, func(bool) error { return nil }
	}
	return stmt{try, []any{arg}, what + ": locking the grants"}, func(taken bool) error {
		if !taken {
			return fmt.Errorf("postgres: %s: %w (%w)", what, errLockBusy, revoke.ErrUnavailable)
		}
		return nil
	}
}

// noteAbsent records which of ids recs leaves out (see tx.absent).
func (t *tx) noteAbsent(ids []revoke.ID, recs []revoke.Record) {
	for _, id := range ids {
		t.absent[id] = true
	}
	for i := range recs {
		delete(t.absent, recs[i].ID)
	}
}

// collectRecords returns a row function appending the record of each row
// to recs.
func collectRecords(recs *[]revoke.Record) func(pgx.Rows) error {
	return func(rows pgx.Rows) error {
		var r row
		if err := rows.Scan(&r.ID, &r.Check, &r.Kind, &r.ClientID, &r.Subject, &r.Parent, &r.Grant, &r.ExpiresAt,
			&r.Seq, &r.Successor, &r.RotatedAt, &r.Retries, &r.Superseded, &r.StatusList, &r.StatusIndex); err != nil {
			return wrapf(err, "reading a record")
		}
		rec, err := r.record()
		*recs = append(*recs, rec)
		return err
	}
}

// idArgs returns ids as the elements of a bytea[] argument.
func idArgs(ids []revoke.ID) [][]byte {
	b := make([][]byte, len(ids))
	for i := range ids {
		b[i] = ids[i][:]
	}
	return b
}

// Put writes recs in one statement, sent with the transaction's next
// statement or its commit: an INSERT ... ON CONFLICT of them all, which
// adds the owner rows of their grants that are missing and raises the
// sequence counter to the highest Seq put that NextSeq did not draw (an
// import's; once NextSeq has read the counter, the commit's claim raises
// it instead). A record whose ID a Get of this transaction found absent
// is inserted only: if another transaction has inserted it since, the
// statement fails rather than replace that record.
func (t *tx) Put(ctx context.Context, recs []revoke.Record) error {
	if err := t.Check(ctx, "postgres", "Put", true); err != nil || len(recs) == 0 {
		return err
	}
	var maxSeq, imported uint64
	for i := range recs {
		if err := sqlrecord.CheckRange(recs[i]); err != nil {
			return fmt.Errorf("postgres: Put: %w", err)
		}
		maxSeq = max(maxSeq, recs[i].Seq)
		if recs[i].Seq > t.drawn {
			imported = max(imported, recs[i].Seq) // not a number drawn here
		}
	}
	if t.read {
		// The commit's claim raises the counter, and fails if another
		// transaction moved it since it was read: raised here, it would
		// hide that move.
		t.imported = max(t.imported, imported)
		imported = 0
	}
	recs = slices.Clone(recs) // the arguments point into it until sent
	fresh := column(recs, func(r *revoke.Record) bool { return t.absent[r.ID] })
	for i := range recs {
		delete(t.absent, recs[i].ID)
	}
	t.ahead = append(t.ahead, stmt{t.s.q.put, append(putArgs(recs), int64(imported), fresh), "Put"})
	// A revocation carries a number the transaction drew; an import, a
	// number other processes must hear of.
	t.seq = max(t.seq, maxSeq)
	return nil
}

// Delete removes the records of ids, and the owner rows of the grants it
// leaves without a record, in one round trip of two statements: the first
// takes the locks of their grants, so that the second, in a snapshot taken
// once they are held, sees every record issued under them.
func (t *tx) Delete(ctx context.Context, ids []revoke.ID) error {
	if err := t.Check(ctx, "postgres", "Delete", true); err != nil || len(ids) == 0 {
		return err
	}
	arg := idArgs(ids)
	lock, got := t.lockStmt(t.s.q.lockGrantsOf, t.s.q.tryLockGrantsOf, arg, "Delete")
	return t.do(ctx, []stmt{lock, {t.s.q.del, []any{arg}, "Delete"}}, func(rows pgx.Rows) error {
		var ok bool
		if err := rows.Scan(nil, &ok); err != nil {
			return wrapf(err, "Delete")
		}
		return got(ok)
	})
}

// RevokeGrants sets seq on the unrevoked records of grants in one round
// trip of two statements: the first takes the grants' locks, waiting for
// the transactions that issue under them; the second, an
// UPDATE over the grants' ranges of the primary key, runs in a snapshot
// taken once the locks are held, and so sees every token they issued.
func (t *tx) RevokeGrants(ctx context.Context, seq uint64, grants []revoke.ID) ([]revoke.Revocation, error) {
	if err := t.Check(ctx, "postgres", "RevokeGrants", true); err != nil || len(grants) == 0 {
		return nil, err
	}
	if seq == 0 || seq > math.MaxInt64 {
		return nil, fmt.Errorf("postgres: RevokeGrants: sequence number %d is not between 1 and 2^63-1", seq)
	}
	var todo [][]byte
	for _, g := range grants {
		if !t.locked[g] {
			todo = append(todo, g[:])
		}
	}
	stmts := []stmt{{t.s.q.revokeGrants, []any{int64(seq), idArgs(grants)}, "RevokeGrants"}}
	lockRows := func(pgx.Rows) error { return nil }
	if len(todo) > 0 {
		lock, got := t.lockStmt(t.s.q.lockGrants, t.s.q.tryLockGrants, todo, "RevokeGrants")
		stmts = append([]stmt{lock}, stmts...)
		lockRows = tookLocks(got, "RevokeGrants")
	}
	var revs []revoke.Revocation
	collect := func(rows pgx.Rows) error {
		rev, err := revocationOf(ctx, rows, "RevokeGrants")
		revs = append(revs, rev)
		return err
	}
	each := []func(pgx.Rows) error{collect}
	if len(todo) > 0 {
		each = []func(pgx.Rows) error{lockRows, collect}
	}
	if err := t.do(ctx, stmts, each...); err != nil {
		return nil, err
	}
	for _, g := range grants {
		t.locked[g] = true
	}
	t.seq = max(t.seq, seq)
	return revs, nil
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
	return t.ids(ctx, stmt{t.s.q.grantsOf, []any{int16(by), key, after[:], limit}, "GrantsOf"})
}

// ids runs s, which reads a column of IDs.
func (t *tx) ids(ctx context.Context, s stmt) ([]revoke.ID, error) {
	var ids []revoke.ID
	err := t.do(ctx, []stmt{s}, func(rows pgx.Rows) error {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return wrapf(err, "%s", s.what)
		}
		id, err := idOf(&b)
		ids = append(ids, id)
		return err
	})
	return ids, err
}

// NextSeq returns the next revocation sequence number: one above the
// counter of the meta table, read at the transaction's first call (one
// round trip), then one above the last number drawn. It locks nothing:
// the commit claims the numbers drawn, moving the counter from the value
// read to the last of them in a statement sent with COMMIT, which fails if
// another transaction has moved it since (see "Concurrency" in the package
// documentation), and the transaction runs again.
func (t *tx) NextSeq(ctx context.Context) (uint64, error) {
	if err := t.Check(ctx, "postgres", "NextSeq", true); err != nil {
		return 0, err
	}
	if !t.read {
		var v int64
		found := false
		err := t.do(ctx, []stmt{{t.s.q.readSeq, nil, "NextSeq"}}, func(rows pgx.Rows) error {
			found = true
			return rows.Scan(&v)
		})
		switch {
		case err != nil:
			return 0, err
		case !found:
			return 0, corrupt("table %s has no sequence row", t.s.q.meta)
		case v < 0:
			return 0, corrupt("sequence %d in table %s", v, t.s.q.meta)
		}
		t.base, t.read = v, true
	}
	next := max(uint64(t.base), t.seq, t.drawn)
	if next >= math.MaxInt64 {
		return 0, errors.New("postgres: NextSeq: the revocation sequence is exhausted")
	}
	next++
	t.drawn, t.seq = next, max(t.seq, next)
	return next, nil
}

// RevokedSince streams the revocations whose Seq is above seq, in Seq
// order, from the partial index on seq, one row at a time: a start-up load
// of millions of revocations never holds them all, and reads each row's
// binary values in place, with no allocation or reflection per row.
func (t *tx) RevokedSince(ctx context.Context, seq uint64, fn func(revoke.Revocation) error) error {
	if err := t.Check(ctx, "postgres", "RevokedSince", false); err != nil || seq >= math.MaxInt64 {
		return err // no stored Seq is above MaxInt64
	}
	return t.do(ctx, []stmt{{t.s.q.revokedSince, []any{int64(seq)}, "RevokedSince"}}, func(rows pgx.Rows) error {
		rev, err := revocationOf(ctx, rows, "RevokedSince")
		if err != nil {
			return err
		}
		return fn(rev)
	})
}

// revocationOf decodes the revocation of the current row of rows, read by
// the statement what, from its binary values in place when it has them.
func revocationOf(ctx context.Context, rows pgx.Rows, what string) (revoke.Revocation, error) {
	inPlace := true
	for _, fd := range rows.FieldDescriptions() {
		inPlace = inPlace && fd.Format == pgx.BinaryFormatCode
	}
	var r revRow
	if v := rows.RawValues(); inPlace && len(v) == 6 && len(v[1]) == 8 && len(v[2]) == 8 && len(v[3]) == 8 && len(v[4]) == 8 && len(v[5]) == 8 {
		be := binary.BigEndian
		r = revRow{ID: v[0], Check: int64(be.Uint64(v[1])), ExpiresAt: int64(be.Uint64(v[2])), Seq: int64(be.Uint64(v[3])),
			StatusList: int64(be.Uint64(v[4])), StatusIndex: int64(be.Uint64(v[5]))}
	} else if err := rows.Scan(&r.ID, &r.Check, &r.ExpiresAt, &r.Seq, &r.StatusList, &r.StatusIndex); err != nil {
		return revoke.Revocation{}, withCtx(ctx, wrapf(err, "%s", what))
	}
	return r.revocation() // copies r.ID
}

// Expired reads the IDs of at most limit records that expire before
// before, from the expiry index.
func (t *tx) Expired(ctx context.Context, before time.Time, limit int) ([]revoke.ID, error) {
	if err := t.Check(ctx, "postgres", "Expired", false); err != nil || limit <= 0 {
		return nil, err
	}
	return t.ids(ctx, stmt{t.s.q.expired, []any{sqlrecord.ClampNano(before), limit}, "Expired"})
}

// Scan reads at most limit records whose ID is above after, in ascending
// ID order: a range of the unique index on id.
func (t *tx) Scan(ctx context.Context, after revoke.ID, limit int) ([]revoke.Record, error) {
	if err := t.Check(ctx, "postgres", "Scan", false); err != nil || limit <= 0 {
		return nil, err
	}
	var recs []revoke.Record
	err := t.do(ctx, []stmt{{t.s.q.scan, []any{after[:], limit}, "Scan"}}, collectRecords(&recs))
	return recs, err
}
