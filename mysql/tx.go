package mysql

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// tx is a transaction of a Store, bound to the connection that began it.
// Each method runs its statements when called: it keeps no record, read or
// written, of its own. seq is the sequence counter as a write transaction
// left it: read under the write lock, then raised by NextSeq and Put.
type tx struct {
	s    *Store
	conn *sqlx.Conn
	sqlrecord.TxState
	seq uint64
}

var _ revoke.Tx = (*tx)(nil)

// IDs, and rows of 15 columns, per statement of the batch methods: within
// max_allowed_packet and the 65,535 placeholders of a prepared statement.
const idsPerStatement, rowsPerStatement = 1000, 500

// sel runs query q of op and scans its rows into dest.
func (t *tx) sel(ctx context.Context, op string, dest any, q string, args ...any) error {
	return t.s.do(ctx, op, func(ctx context.Context) error { return t.conn.SelectContext(ctx, dest, q, args...) })
}

// exec runs statement q of op.
func (t *tx) exec(ctx context.Context, op, q string, args ...any) error {
	return t.s.do(ctx, op, func(ctx context.Context) error { _, err := t.conn.ExecContext(ctx, q, args...); return err })
}

// records runs query q of op, which reads tokenColumns.
func (t *tx) records(ctx context.Context, op, q string, args ...any) ([]revoke.Record, error) {
	var rows []row
	err := t.sel(ctx, op, &rows, q, args...)
	recs := make([]revoke.Record, len(rows))
	for i := 0; err == nil && i < len(rows); i++ {
		recs[i], err = rows[i].record()
	}
	return recs, err
}

// ids runs query q of op, which reads a column of IDs.
func (t *tx) ids(ctx context.Context, op, q string, args ...any) ([]revoke.ID, error) {
	var col [][]byte
	err := t.sel(ctx, op, &col, q, args...)
	ids := make([]revoke.ID, len(col))
	for i := 0; err == nil && i < len(col); i++ {
		ids[i], err = idOf(col[i], op+" ID", false)
	}
	return ids, err
}

// marks returns n times group, joined by sep.
func marks(n int, group, sep string) string {
	return strings.TrimSuffix(strings.Repeat(group+sep, n), sep)
}

// distinct returns ids once each, as statement arguments, in chunks of at
// most idsPerStatement.
func distinct(ids []revoke.ID) (chunks [][]any) {
	sorted := slices.Clone(ids)
	slices.SortFunc(sorted, func(a, b revoke.ID) int { return bytes.Compare(a[:], b[:]) })
	for c := range slices.Chunk(slices.Compact(sorted), idsPerStatement) {
		args := make([]any, len(c))
		for i := range c {
			args[i] = c[i][:]
		}
		chunks = append(chunks, args)
	}
	return chunks
}

func (t *tx) Get(ctx context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	if err := t.Check(ctx, "mysql", "Get", false); err != nil || len(ids) == 0 {
		return nil, err
	}
	var recs []revoke.Record
	for _, args := range distinct(ids) {
		got, err := t.records(ctx, "Get", in(t.s.q.get, len(args)), args...)
		if err != nil {
			return nil, err
		}
		recs = append(recs, got...)
	}
	return recs, nil
}

// owner is a row of the owners table.
type owner struct {
	by    revoke.Owner
	key   string
	grant revoke.ID
}

// ownerArgs appends the owner rows of a grant that seen lacks to args.
func ownerArgs(args []any, seen map[owner]bool, client, subject string, grant revoke.ID) []any {
	for _, o := range []owner{{revoke.ByClient, client, grant}, {revoke.BySubject, subject, grant}} {
		if !seen[o] && (o.by == revoke.ByClient || o.key != "") {
			seen[o] = true
			args = append(args, int8(o.by), []byte(o.key), grant[:])
		}
	}
	return args
}

// Put upserts recs (INSERT ... ON DUPLICATE KEY UPDATE), then the owner
// rows of their grants, and raises the sequence counter to the highest Seq
// put when that is above it (an import).
func (t *tx) Put(ctx context.Context, recs []revoke.Record) error {
	if err := t.Check(ctx, "mysql", "Put", true); err != nil || len(recs) == 0 {
		return err
	}
	var maxSeq uint64
	seen, own := map[owner]bool{}, []any(nil)
	for i := range recs {
		if err := checkRecord(&recs[i]); err != nil {
			return err
		}
		maxSeq = max(maxSeq, recs[i].Seq)
		own = ownerArgs(own, seen, recs[i].ClientID, recs[i].Subject, recs[i].Grant)
	}
	for c := range slices.Chunk(recs, rowsPerStatement) {
		args := make([]any, 0, len(c)*nTokenColumns)
		for i := range c {
			args = rowArgs(args, &c[i])
		}
		if err := t.exec(ctx, "Put", t.s.q.put(len(c)), args...); err != nil {
			return err
		}
	}
	for c := range slices.Chunk(own, 3*rowsPerStatement) {
		if err := t.exec(ctx, "Put", t.s.q.putOwners(len(c)/3), c...); err != nil {
			return err
		}
	}
	if maxSeq <= t.seq {
		return nil
	}
	t.seq = maxSeq
	return t.exec(ctx, "Put", t.s.q.setSeq, int64(maxSeq))
}

// Delete, per thousand IDs, reads the records' grants, deletes the
// records, then the owner rows of those grants left without a record.
func (t *tx) Delete(ctx context.Context, ids []revoke.ID) error {
	if err := t.Check(ctx, "mysql", "Delete", true); err != nil || len(ids) == 0 {
		return err
	}
	for _, args := range distinct(ids) {
		var found []row
		err := t.sel(ctx, "Delete", &found, in(t.s.q.grantsOfIDs, len(args)), args...)
		seen, own := map[owner]bool{}, []any(nil)
		for i := 0; err == nil && i < len(found); i++ {
			var grant revoke.ID
			grant, err = idOf(found[i].Grant, "grant ID", false)
			own = ownerArgs(own, seen, string(found[i].ClientID), string(found[i].Subject), grant)
		}
		if err == nil && len(found) > 0 {
			err = t.exec(ctx, "Delete", in(t.s.q.del, len(args)), args...)
		}
		if err == nil && len(found) > 0 {
			err = t.exec(ctx, "Delete", t.s.q.deleteOwners(len(own)/3), own...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// RevokeGrants, per thousand grants, reads the unrevoked records in the
// grants' ranges of the primary key (SELECT ... FOR UPDATE: MySQL has no
// UPDATE ... RETURNING), then sets their seq in one UPDATE.
func (t *tx) RevokeGrants(ctx context.Context, seq uint64, grants []revoke.ID) ([]revoke.Revocation, error) {
	if err := t.Check(ctx, "mysql", "RevokeGrants", true); err != nil || len(grants) == 0 {
		return nil, err
	}
	if seq == 0 || seq > math.MaxInt64 {
		return nil, fmt.Errorf("mysql: RevokeGrants: sequence number %d is not between 1 and 2^63-1", seq)
	}
	var revs []revoke.Revocation
	for _, args := range distinct(grants) {
		var rows []row
		err := t.sel(ctx, "RevokeGrants", &rows, in(t.s.q.live, len(args)), args...)
		if err == nil && len(rows) > 0 {
			err = t.exec(ctx, "RevokeGrants", in(t.s.q.revoke, len(args)), append([]any{int64(seq)}, args...)...)
		}
		for i := 0; err == nil && i < len(rows); i++ {
			rows[i].Seq = int64(seq)
			var rev revoke.Revocation
			rev, err = rows[i].revocation()
			revs = append(revs, rev)
		}
		if err != nil {
			return nil, err
		}
	}
	return revs, nil
}

func (t *tx) GrantsOf(ctx context.Context, by revoke.Owner, key string, after revoke.ID, limit int) ([]revoke.ID, error) {
	if err := t.Check(ctx, "mysql", "GrantsOf", false); err != nil {
		return nil, err
	}
	if by != revoke.BySubject && by != revoke.ByClient {
		return nil, fmt.Errorf("mysql: GrantsOf: unknown owner %v", by)
	}
	if limit <= 0 || (by == revoke.BySubject && key == "") {
		return nil, nil
	}
	return t.ids(ctx, "GrantsOf", t.s.q.grantsOf, int8(by), []byte(key), after[:], limit)
}

// NextSeq sets the counter, whose row the transaction locked first and
// read (t.seq), to the next number.
func (t *tx) NextSeq(ctx context.Context) (uint64, error) {
	if err := t.Check(ctx, "mysql", "NextSeq", true); err != nil {
		return 0, err
	}
	if t.seq >= math.MaxInt64 {
		return 0, errors.New("mysql: NextSeq: the revocation sequence is exhausted")
	}
	if err := t.exec(ctx, "NextSeq", t.s.q.setSeq, int64(t.seq+1)); err != nil {
		return 0, err
	}
	t.seq++
	return t.seq, nil
}

func (t *tx) Expired(ctx context.Context, before time.Time, limit int) ([]revoke.ID, error) {
	if err := t.Check(ctx, "mysql", "Expired", false); err != nil || limit <= 0 {
		return nil, err
	}
	return t.ids(ctx, "Expired", t.s.q.expired, sqlrecord.ClampNano(before), limit)
}

func (t *tx) Scan(ctx context.Context, after revoke.ID, limit int) ([]revoke.Record, error) {
	if err := t.Check(ctx, "mysql", "Scan", false); err != nil || limit <= 0 {
		return nil, err
	}
	return t.records(ctx, "Scan", t.s.q.scan, after[:], limit)
}

// RevokedSince streams the rows of the index on seq, which holds every
// column it reads. An error of fn, or a corrupt row, is returned as it is.
func (t *tx) RevokedSince(ctx context.Context, seq uint64, fn func(revoke.Revocation) error) error {
	if err := t.Check(ctx, "mysql", "RevokedSince", false); err != nil || seq >= math.MaxInt64 {
		return err // no stored Seq is above MaxInt64
	}
	var stop error
	err := t.s.do(ctx, "RevokedSince", func(ctx context.Context) error {
		rows, err := t.conn.QueryxContext(ctx, t.s.q.revokedSince, int64(seq))
		if err != nil {
			return err
		}
		defer rows.Close()
		for r := (row{}); stop == nil && rows.Next(); {
			if err := rows.StructScan(&r); err != nil {
				return err
			}
			rev, err := r.revocation()
			if err == nil {
				err = fn(rev)
			}
			stop = err
		}
		return rows.Err()
	})
	return cmp.Or(stop, err)
}
