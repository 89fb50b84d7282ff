package postgres

import (
	"context"

	"github.com/sdkauth/revocation/revoke"
)

var _ revoke.Prefetcher = (*tx)(nil)

// cached is a record the transaction read ahead (see Prefetch), or its
// absence.
type cached struct {
	rec   revoke.Record
	found bool
}

// Prefetch reads the records of ids, those the transaction has not written
// (by Put, Delete or SetSeq) nor read ahead already, in one statement, and
// keeps them, or their absence, for Get: the group commit of concurrent
// writes reads what its operations check in one round trip instead of one
// per Get.
//
// Get answers from the transaction's own writes first, then from what
// Prefetch read. A Put or Delete drops the ID from what was read ahead, so
// that after the flush that sends it Get reads the row the transaction
// wrote, not the one it read before. Rows no other transaction writes
// meanwhile: a write transaction holds the Store's advisory lock, and a
// View reads one snapshot.
func (t *tx) Prefetch(ctx context.Context, ids []revoke.ID) error {
	if err := t.check(ctx, "Prefetch", false); err != nil {
		return err
	}
	want := make([][]byte, 0, len(ids))
	for i := range ids {
		id := &ids[i]
		if _, ok := t.pending[*id]; ok {
			continue
		}
		if _, ok := t.seqs[*id]; ok {
			// Get reads it, and lays the Seq over what it reads,
			// until the flush writes the Seq.
			continue
		}
		if _, ok := t.cache[*id]; ok {
			continue
		}
		if t.cache == nil {
			t.cache = make(map[revoke.ID]cached, len(ids))
		}
		t.cache[*id] = cached{} // absent, unless a row says otherwise
		want = append(want, id[:])
	}
	switch len(want) {
	case 0:
		return nil
	case 1:
		// Get's statement: PostgreSQL plans it once for the connection,
		// whereas it plans the ANY of one ID anew at each run, which
		// costs a lone writer more than the statement saves.
		id := revoke.ID(want[0])
		rec, found, err := t.read(ctx, "Prefetch", id)
		if err != nil {
			delete(t.cache, id)
			return err
		}
		t.cache[id] = cached{rec: rec, found: found}
		return nil
	}
	var rows []row
	if err := t.conn.SelectContext(ctx, &rows, t.s.q.getMany, want); err != nil {
		// Nothing read is known: forget the absences assumed above.
		for _, b := range want {
			delete(t.cache, revoke.ID(b))
		}
		return t.fail(ctx, "Prefetch", err)
	}
	for i := range rows {
		rec, err := rows[i].record()
		if err != nil {
			for _, b := range want {
				delete(t.cache, revoke.ID(b))
			}
			return err
		}
		t.cache[rec.ID] = cached{rec: rec, found: true}
	}
	return nil
}
