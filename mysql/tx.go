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

// tx is a transaction on conn; seq is the counter as NextSeq and Put left it.
type tx struct {
	s    *Store
	conn *sqlx.Conn
	sqlrecord.TxState
	seq   uint64
	known map[revoke.ID][2]string // grant → client and subject of a record Get or Put met: its owner rows exist (until a Delete)
	lost  error                   // why the server may have rolled the transaction back
}

// IDs and rows per statement: within max_allowed_packet and 65,535 placeholders.
const idsPerStatement, rowsPerStatement = 1000, 500

func (t *tx) exec(ctx context.Context, op, q string, args ...any) error {
	return t.s.do(ctx, t, op, func(ctx context.Context) error { _, err := t.conn.ExecContext(ctx, q, args...); return err })
}

// decode runs query q of op and decodes its rows with dec.
func decode[T any](t *tx, ctx context.Context, op string, dec func(*row) (T, error), q string, args ...any) ([]T, error) {
	var rows []row
	err := t.s.do(ctx, t, op, func(ctx context.Context) error { return t.conn.SelectContext(ctx, &rows, q, args...) })
	out := make([]T, len(rows))
	for i := 0; err == nil && i < len(rows); i++ {
		out[i], err = dec(&rows[i])
	}
	return out, err
}

func (r *row) id() (revoke.ID, error)    { return idOf(r.ID, "token ID", false) }
func (r *row) grant() (revoke.ID, error) { return idOf(r.Grant, "grant ID", false) }

// marks returns n times group, joined by sep.
func marks(n int, group, sep string) string {
	return strings.TrimSuffix(strings.Repeat(group+sep, n), sep)
}

// perChunk calls fn with ids once each as arguments, idsPerStatement at a
// time, and returns what the calls return.
func perChunk[T any](ids []revoke.ID, fn func(args []any) ([]T, error)) (out []T, err error) {
	sorted, all := slices.Clone(ids), []any(nil)
	slices.SortFunc(sorted, func(a, b revoke.ID) int { return bytes.Compare(a[:], b[:]) })
	for _, id := range slices.Compact(sorted) {
		all = append(all, id[:])
	}
	for args := range slices.Chunk(all, idsPerStatement) {
		got, err := fn(args)
		if out = append(out, got...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *tx) Get(ctx context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	if err := t.Check(ctx, "mysql", "Get", false); err != nil {
		return nil, err
	}
	recs, err := perChunk(ids, func(args []any) ([]revoke.Record, error) {
		return decode(t, ctx, "Get", (*row).record, in(t.s.q.get, len(args)), args...)
	})
	for i := range recs {
		t.known[recs[i].Grant] = [2]string{recs[i].ClientID, recs[i].Subject}
	}
	return recs, err
}

// ownerArgs appends grant's owner rows unless known holds them.
func ownerArgs(args []any, known map[revoke.ID][2]string, client, subject string, grant revoke.ID) []any {
	if o, ok := known[grant]; ok && o == [2]string{client, subject} {
		return args
	}
	known[grant] = [2]string{client, subject}
	if args = append(args, int8(revoke.ByClient), []byte(client), grant[:]); subject != "" {
		args = append(args, int8(revoke.BySubject), []byte(subject), grant[:])
	}
	return args
}

// Put upserts recs and the owner rows of their grants, 500 at a time, and
// raises the counter to the highest Seq put (an import).
func (t *tx) Put(ctx context.Context, recs []revoke.Record) error {
	if err := t.Check(ctx, "mysql", "Put", true); err != nil || len(recs) == 0 {
		return err
	}
	maxSeq := t.seq
	for c := range slices.Chunk(recs, rowsPerStatement) {
		args, own, err := make([]any, 0, len(c)*nTokenColumns), []any(nil), error(nil)
		for i := 0; err == nil && i < len(c); i++ {
			maxSeq = max(maxSeq, c[i].Seq)
			own = ownerArgs(own, t.known, c[i].ClientID, c[i].Subject, c[i].Grant)
			args, err = rowArgs(args, &c[i])
		}
		q := t.s.q.put(len(c))
		if t.s.multi && len(own) > 0 { // one round trip
			q, args, own = q+"; "+t.s.q.putOwners(len(own)/3), append(args, own...), nil
		}
		if err == nil {
			err = t.exec(ctx, "Put", q, args...)
		}
		if err == nil && len(own) > 0 {
			err = t.exec(ctx, "Put", t.s.q.putOwners(len(own)/3), own...)
		}
		if err != nil {
			clear(t.known) // it may hold grants whose owner rows were not written
			return err
		}
	}
	if maxSeq <= t.seq {
		return nil
	}
	t.seq = maxSeq
	return t.exec(ctx, "Put", t.s.q.setSeq, int64(maxSeq))
}

// Delete reads the records' grants, deletes the records, then the owner
// rows of those grants left without a record.
func (t *tx) Delete(ctx context.Context, ids []revoke.ID) error {
	if err := t.Check(ctx, "mysql", "Delete", true); err != nil {
		return err
	}
	clear(t.known) // owner rows may go
	_, err := perChunk(ids, func(args []any) ([]struct{}, error) {
		seen, own := map[revoke.ID][2]string{}, []any(nil)
		found, err := decode(t, ctx, "Delete", func(r *row) (g revoke.ID, err error) {
			g, err = r.grant()
			own = ownerArgs(own, seen, string(r.ClientID), string(r.Subject), g)
			return g, err
		}, in(t.s.q.grantsOfIDs, len(args)), args...)
		if err == nil && len(found) > 0 {
			err = t.exec(ctx, "Delete", in(t.s.q.del, len(args)), args...)
		}
		if err == nil && len(found) > 0 {
			err = t.exec(ctx, "Delete", t.s.q.deleteOwners(len(own)/3), own...)
		}
		return nil, err
	})
	return err
}

// RevokeGrants reads the unrevoked records of the grants (SELECT ... FOR
// UPDATE: there is no RETURNING), then sets their seq in one UPDATE.
func (t *tx) RevokeGrants(ctx context.Context, seq uint64, grants []revoke.ID) ([]revoke.Revocation, error) {
	if err := t.Check(ctx, "mysql", "RevokeGrants", true); err != nil || len(grants) == 0 {
		return nil, err
	}
	if seq == 0 || seq > math.MaxInt64 {
		return nil, fmt.Errorf("mysql: RevokeGrants: sequence number %d is not between 1 and 2^63-1", seq)
	}
	revoked := func(r *row) (revoke.Revocation, error) { r.Seq = int64(seq); return r.revocation() }
	return perChunk(grants, func(args []any) ([]revoke.Revocation, error) {
		revs, err := decode(t, ctx, "RevokeGrants", revoked, in(t.s.q.live, len(args)), args...)
		if err == nil && len(revs) > 0 {
			err = t.exec(ctx, "RevokeGrants", in(t.s.q.revoke, len(args)), append([]any{int64(seq)}, args...)...)
		}
		return revs, err
	})
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
	return decode(t, ctx, "GrantsOf", (*row).grant, t.s.q.grantsOf, int8(by), []byte(key), after[:], limit)
}

// NextSeq sets the counter, locked and read at the start, to the next number.
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
	return decode(t, ctx, "Expired", (*row).id, t.s.q.expired, sqlrecord.ClampNano(before), limit)
}

func (t *tx) Scan(ctx context.Context, after revoke.ID, limit int) ([]revoke.Record, error) {
	if err := t.Check(ctx, "mysql", "Scan", false); err != nil || limit <= 0 {
		return nil, err
	}
	return decode(t, ctx, "Scan", (*row).record, t.s.q.scan, after[:], limit)
}

// RevokedSince streams the rows of the index on seq, which covers it.
func (t *tx) RevokedSince(ctx context.Context, seq uint64, fn func(revoke.Revocation) error) error {
	if err := t.Check(ctx, "mysql", "RevokedSince", false); err != nil || seq >= math.MaxInt64 {
		return err // no stored Seq is above MaxInt64
	}
	var stop error
	err := t.s.do(ctx, t, "RevokedSince", func(ctx context.Context) error {
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
			if stop = err; err == nil {
				stop = fn(rev)
			}
		}
		return rows.Err()
	})
	return cmp.Or(stop, err)
}
