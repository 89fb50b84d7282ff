package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/sdkauth/revocation/revoke"
)

// scanQuery returns the statement of Scan for the table prefix: a range of
// the unique index on id, which holds every token, in ID order.
func scanQuery(prefix string) string {
	return strings.ReplaceAll(`SELECT `+rowColumns+` FROM "{p}tokens" WHERE id > ? ORDER BY id LIMIT ?`, "{p}", prefix)
}

// Scan calls fn for at most limit records whose ID is above after, in
// ascending ID order, streaming them one row at a time.
func (t *tx) Scan(ctx context.Context, after revoke.ID, limit int, fn func(revoke.Record) error) error {
	if err := t.check(ctx, "Scan", false); err != nil {
		return err
	}
	if limit <= 0 {
		return nil
	}
	rows, err := t.conn.QueryxContext(ctx, scanQuery(t.s.q.prefix), after[:], limit)
	if err != nil {
		return wrapf(err, "Scan")
	}
	defer rows.Close()
	var r row
	for rows.Next() {
		if err := rows.Scan(r.dest()...); err != nil {
			return wrapf(err, "Scan")
		}
		rec, err := r.record()
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return wrapf(err, "Scan")
	}
	return nil
}

// raiseSeq keeps the sequence counter at or above seq, the Seq Put or
// SetSeq wrote: a record imported with its Seq (see revoke.Tx.NextSeq) must
// not be followed by a revocation of a lower number. A revocation carries
// the number NextSeq just returned, so it costs nothing.
func (t *tx) raiseSeq(ctx context.Context, seq uint64) error {
	if !t.seqLoaded {
		var v int64
		if err := t.conn.GetContext(ctx, &v, t.s.q.getSeq); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: table %smeta has no sequence row", ErrCorrupt, t.s.q.prefix)
			}
			return wrapf(err, "reading the sequence")
		}
		if v < 0 {
			return fmt.Errorf("%w: negative sequence %d in table %smeta", ErrCorrupt, v, t.s.q.prefix)
		}
		t.seq, t.seqLoaded = uint64(v), true
	}
	if seq > t.seq && seq <= math.MaxInt64 {
		t.seq, t.seqDirty = seq, true
	}
	return nil
}
