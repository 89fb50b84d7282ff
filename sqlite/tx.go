package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// tx is a transaction of a Store, bound to the connection that began it.
type tx struct {
	s    *Store
	conn *sqlx.Conn
	sqlrecord.TxState
}

var _ revoke.Tx = (*tx)(nil)

func (t *tx) check(ctx context.Context, op string, write bool) error {
	return t.Check(ctx, "sqlite", op, write)
}

// rows runs query and calls each for every row, as it reads them.
func (t *tx) rows(ctx context.Context, op, query string, args []any, each func(*sql.Rows) error) error {
	rs, err := t.conn.QueryContext(ctx, query, args...)
	if err != nil {
		return wrapf(err, "%s", op)
	}
	defer rs.Close()
	for rs.Next() {
		if err := each(rs); err != nil {
			return err
		}
	}
	return wrapf(rs.Err(), "%s", op)
}

// scan runs query and returns what value makes of each row, scanned into
// the fields dest returns.
func scan[T any](ctx context.Context, t *tx, op, query string, args []any, out []T, dest []any, value func() (T, error)) ([]T, error) {
	err := t.rows(ctx, op, query, args, func(rs *sql.Rows) error {
		if err := rs.Scan(dest...); err != nil {
			return wrapf(err, "%s", op)
		}
		v, err := value()
		out = append(out, v)
		return err
	})
	return out, err
}

// records runs query, whose columns are tokenColumns, and appends the
// records to recs.
func (t *tx) records(ctx context.Context, op, query string, args []any, recs []revoke.Record) ([]revoke.Record, error) {
	var r row
	return scan(ctx, t, op, query, args, recs, r.dest(), r.record)
}

// ids runs query, whose one column is an ID, and returns the IDs.
func (t *tx) ids(ctx context.Context, op, query string, args ...any) ([]revoke.ID, error) {
	var id idValue
	return scan(ctx, t, op, query, args, nil, []any{&id}, func() (revoke.ID, error) { return revoke.ID(id), nil })
}

// revocations runs query, whose columns are those of the seq index (id,
// check_sum, expires_at, seq, status_list, status_idx), and calls fn with
// the index entry of each row.
func (t *tx) revocations(ctx context.Context, op, query string, args []any, fn func(revoke.Revocation) error) error {
	var (
		id                               idValue
		check, expires, seq, list, index int64
	)
	return t.rows(ctx, op, query, args, func(rs *sql.Rows) error {
		if err := rs.Scan(&id, &check, &expires, &seq, &list, &index); err != nil {
			return wrapf(err, "%s", op)
		}
		rev, ok := sqlrecord.Revocation(revoke.ID(id), check, expires, seq, list, index)
		if !ok {
			return fmt.Errorf("%w: revocation %x has check_sum %d, seq %d, status_idx %d", errCorrupt, id[:], check, seq, index)
		}
		return fn(rev)
	})
}

// chunkSizes are the numbers of IDs a statement over a list of IDs is made
// for: a list is cut into chunks of the largest, and the last chunk padded
// to the smallest size that holds it by repeating its last ID (which
// changes nothing in an IN list), so that few statements are prepared.
var chunkSizes = [...]int{1, 8, 64, 512}

// chunks calls fn for each chunk of ids with the size n of its statement
// and its arguments: head, then the chunk's IDs, padded to n.
func chunks(ids []revoke.ID, head []any, fn func(n int, args []any) error) error {
	for len(ids) > 0 {
		n := chunkSizes[len(chunkSizes)-1]
		if i := slices.IndexFunc(chunkSizes[:], func(size int) bool { return size >= len(ids) }); i >= 0 {
			n = chunkSizes[i]
		}
		chunk := ids[:min(n, len(ids))]
		ids = ids[len(chunk):]
		args := append(make([]any, 0, len(head)+n), head...)
		for i := range n {
			args = append(args, chunk[min(i, len(chunk)-1)][:])
		}
		if err := fn(n, args); err != nil {
			return err
		}
	}
	return nil
}

// Get reads the records of ids in a statement per chunk of IDs.
func (t *tx) Get(ctx context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	if err := t.check(ctx, "Get", false); err != nil {
		return nil, err
	}
	// Distinct, so that no record comes twice from two chunks; sorted, so
	// that the searches walk the index forward.
	ids = slices.Clone(ids)
	slices.SortFunc(ids, func(a, b revoke.ID) int { return bytes.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	recs := make([]revoke.Record, 0, len(ids))
	err := chunks(ids, nil, func(n int, args []any) (err error) {
		recs, err = t.records(ctx, "Get", t.s.q.getQuery(n), args, recs)
		return err
	})
	return recs, err
}

// Scan reads a range of the index on id.
func (t *tx) Scan(ctx context.Context, after revoke.ID, limit int) ([]revoke.Record, error) {
	if err := t.check(ctx, "Scan", false); err != nil || limit <= 0 {
		return nil, err
	}
	return t.records(ctx, "Scan", t.s.q.scan, []any{after[:], limit}, nil)
}

// Expired reads the expiry index alone.
func (t *tx) Expired(ctx context.Context, before time.Time, limit int) ([]revoke.ID, error) {
	if err := t.check(ctx, "Expired", false); err != nil || limit <= 0 {
		return nil, err
	}
	return t.ids(ctx, "Expired", t.s.q.expired, sqlrecord.ClampNano(before), limit)
}

// GrantsOf reads a range of the owners table.
func (t *tx) GrantsOf(ctx context.Context, by revoke.Owner, key string, after revoke.ID, limit int) ([]revoke.ID, error) {
	if err := t.check(ctx, "GrantsOf", false); err != nil {
		return nil, err
	}
	if by != revoke.BySubject && by != revoke.ByClient {
		return nil, fmt.Errorf("sqlite: GrantsOf: unknown owner %v", by)
	}
	if limit <= 0 || (by == revoke.BySubject && key == "") {
		return nil, nil
	}
	return t.ids(ctx, "GrantsOf", t.s.q.grantsOf, int(by), key, after[:], limit)
}

// RevokedSince streams the partial index on seq, one row at a time, so
// that a start-up load of millions of revocations never holds them all.
func (t *tx) RevokedSince(ctx context.Context, seq uint64, fn func(revoke.Revocation) error) error {
	if err := t.check(ctx, "RevokedSince", false); err != nil || seq >= math.MaxInt64 {
		return err // no stored Seq is above MaxInt64
	}
	return t.revocations(ctx, "RevokedSince", t.s.q.revokedSince, []any{int64(seq)}, fn)
}
