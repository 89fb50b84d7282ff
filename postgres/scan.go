package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sdkauth/revocation/revoke"
)

// Scan calls fn for at most limit records whose ID is above after, in
// ascending ID order: a range of the unique index on id, streamed one row at
// a time, read after the transaction's pending writes are flushed.
func (t *tx) Scan(ctx context.Context, after revoke.ID, limit int, fn func(revoke.Record) error) error {
	if err := t.check(ctx, "Scan", false); err != nil {
		return err
	}
	if limit <= 0 {
		return nil
	}
	if err := t.flush(ctx); err != nil {
		return err
	}
	rows, err := t.conn.QueryxContext(ctx, t.s.q.scan, after[:], limit)
	if err != nil {
		return t.fail(ctx, "Scan", err)
	}
	defer rows.Close()
	var r row
	for rows.Next() {
		r = row{} // NULL columns leave a field as it was
		if err := rows.StructScan(&r); err != nil {
			return t.fail(ctx, "Scan", err)
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
		return t.fail(ctx, "Scan", err)
	}
	return nil
}

// raiseSeq keeps the sequence counter at or above the Seqs of the records
// Put wrote as given rather than from NextSeq (an import, see
// revoke.Tx.NextSeq), so that no later revocation gets a lower number. It
// writes the counter row under the same locks as NextSeq, held to the
// commit: commit order stays sequence order. A revocation's Put carries
// the number NextSeq just returned, so it costs nothing.
func (t *tx) raiseSeq(ctx context.Context) error {
	if t.raise == 0 {
		return nil
	}
	var v int64
	if err := t.conn.GetContext(ctx, &v, t.s.q.raiseSeq, int64(t.raise)); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: table %s has no sequence row", ErrCorrupt, t.s.q.meta)
		}
		return t.fail(ctx, "Put: raising the sequence", err)
	}
	if v <= 0 {
		return fmt.Errorf("%w: sequence %d in table %s", ErrCorrupt, v, t.s.q.meta)
	}
	t.seq, t.raise = uint64(v), 0
	return nil
}
