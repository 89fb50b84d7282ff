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
// It keeps nothing of the rows between calls: each method runs its
// statements when called.
type tx struct {
	s    *Store
	conn *sqlx.Conn
	sqlrecord.TxState
}

var _ revoke.Tx = (*tx)(nil)

// check returns why the transaction cannot run op: it has ended, or a
// context is done.
func (t *tx) check(ctx context.Context, op string, write bool) error {
	return t.Check(ctx, "sqlite", op, write)
}

// rows runs query and calls each for every row it returns, as it reads
// them.
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
	if err := rs.Err(); err != nil {
		return wrapf(err, "%s", op)
	}
	return nil
}

// records runs query, whose columns are tokenColumns, and appends the
// record of each row to recs.
func (t *tx) records(ctx context.Context, op, query string, args []any, recs []revoke.Record) ([]revoke.Record, error) {
	var r row
	dest := r.dest()
	err := t.rows(ctx, op, query, args, func(rs *sql.Rows) error {
		r = row{}
		if err := rs.Scan(dest...); err != nil {
			return wrapf(err, "%s", op)
		}
		rec, err := r.record()
		recs = append(recs, rec)
		return err
	})
	return recs, err
}

// chunkSizes are the numbers of IDs a statement over a list of IDs is
// made for. A list is cut into chunks of the largest size, well within
// SQLite's limit of 32,766 parameters; the last chunk is padded to the
// smallest size that holds it by repeating its last ID, which changes
// nothing in an IN list, so that the driver prepares few statements.
var chunkSizes = [...]int{1, 8, 64, 512}

// chunks calls fn for each chunk of ids with the size n of its statement
// and its arguments: head, then the chunk's IDs, padded to n.
func chunks(ids []revoke.ID, head []any, fn func(n int, args []any) error) error {
	for len(ids) > 0 {
		n := chunkSizes[len(chunkSizes)-1]
		for _, size := range chunkSizes {
			if size >= len(ids) {
				n = size
				break
			}
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

// Get returns the records of ids, in a statement per chunk of IDs, each a
// search of the index on id per ID.
func (t *tx) Get(ctx context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	if err := t.check(ctx, "Get", false); err != nil {
		return nil, err
	}
	// Distinct, so that no record is returned twice from two chunks; in
	// order, so that the searches walk the index forward.
	ids = slices.Clone(ids)
	slices.SortFunc(ids, func(a, b revoke.ID) int { return bytes.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	recs := make([]revoke.Record, 0, len(ids))
	err := chunks(ids, nil, func(n int, args []any) error {
		var err error
		recs, err = t.records(ctx, "Get", t.s.q.getQuery(n), args, recs)
		return err
	})
	return recs, err
}

// Scan returns at most limit records whose ID is above after, in ascending
// ID order, read from the index on id.
func (t *tx) Scan(ctx context.Context, after revoke.ID, limit int) ([]revoke.Record, error) {
	if err := t.check(ctx, "Scan", false); err != nil || limit <= 0 {
		return nil, err
	}
	return t.records(ctx, "Scan", t.s.q.scan, []any{after[:], limit}, nil)
}

// Expired returns the IDs of at most limit records that expire before
// before, read from the expiry index alone.
func (t *tx) Expired(ctx context.Context, before time.Time, limit int) ([]revoke.ID, error) {
	if err := t.check(ctx, "Expired", false); err != nil || limit <= 0 {
		return nil, err
	}
	return t.ids(ctx, "Expired", t.s.q.expired, sqlrecord.ClampNano(before), limit)
}

// GrantsOf returns at most limit grants of the subject or client key above
// after, in ascending order, read from a range of the owners table.
func (t *tx) GrantsOf(ctx context.Context, by revoke.Owner, key string, after revoke.ID, limit int) ([]revoke.ID, error) {
	if err := t.check(ctx, "GrantsOf", false); err != nil {
		return nil, err
	}
	query, none, err := grantsQuery(by, key, limit, t.s.q.subjectGrants, t.s.q.clientGrants)
	if none || err != nil {
		return nil, err
	}
	return t.ids(ctx, "GrantsOf", query, key, after[:], limit)
}

// ids runs query, whose one column is an ID, and returns the IDs.
func (t *tx) ids(ctx context.Context, op, query string, args ...any) ([]revoke.ID, error) {
	var ids []revoke.ID
	err := t.rows(ctx, op, query, args, func(rs *sql.Rows) error {
		var id idValue
		if err := rs.Scan(&id); err != nil {
			return wrapf(err, "%s", op)
		}
		ids = append(ids, revoke.ID(id))
		return nil
	})
	return ids, err
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
	return t.revocations(ctx, "RevokedSince", t.s.q.revokedSince, []any{int64(seq)}, fn)
}

// revocations runs query, whose columns are those of a revocation (id,
// check_sum, expires_at, seq, status_list, status_idx: the seq index's),
// and calls fn with the index entry of each row.
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

// grantsQuery returns the query of GrantsOf for by, one of bySubject and
// byClient, and whether the call reports nothing (none): a limit of 0 or
// less, or the empty subject, which no record indexes. An unknown owner is
// an error.
func grantsQuery(by revoke.Owner, key string, limit int, bySubject, byClient string) (query string, none bool, err error) {
	switch by {
	case revoke.BySubject:
		query = bySubject
	case revoke.ByClient:
		query = byClient
	default:
		return "", true, fmt.Errorf("sqlite: GrantsOf: unknown owner %v", by)
	}
	return query, limit <= 0 || (by == revoke.BySubject && key == ""), nil
}
