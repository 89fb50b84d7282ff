package postgres

import (
	"context"
	"fmt"
	"math"

	"github.com/sdkauth/revocation/revoke"
)

var _ revoke.SeqSetter = (*tx)(nil)

// SetSeq sets the Seq of the records of ids (see revoke.SeqSetter) at the
// next flush, in one UPDATE of the seq column alone for every ID the
// transaction has not written: a cascade over a grant of any size sends its
// IDs and one number, not every column of every record. A record the
// transaction Put and has not sent yet gets the Seq in the Put, and one
// Prefetch read gets it in what was read. A later Put or Delete of an ID
// replaces what SetSeq noted, and Get answers with the Seq noted until the
// flush sends it.
func (t *tx) SetSeq(ctx context.Context, seq uint64, ids []revoke.ID) error {
	if err := t.check(ctx, "SetSeq", true); err != nil {
		return err
	}
	if seq > math.MaxInt64 {
		return fmt.Errorf("postgres: SetSeq: sequence number %d does not fit in a signed 64-bit integer", seq)
	}
	for _, id := range ids {
		if w, ok := t.pending[id]; ok {
			if !w.deleted {
				w.rec.Seq = seq
				t.pending[id] = w
			}
			continue
		}
		// What Prefetch read stays what the table holds once the flush
		// has sent the Seq.
		if c, ok := t.cache[id]; ok && c.found {
			c.rec.Seq = seq
			t.cache[id] = c
		}
		if t.seqs == nil {
			t.seqs = make(map[revoke.ID]uint64, len(ids))
		}
		t.seqs[id] = seq
	}
	if len(ids) > 0 && seq > t.seq {
		t.raise = max(t.raise, seq)
	}
	return nil
}

// sendSeqs sends what SetSeq noted for the IDs the transaction has not
// written since.
func (t *tx) sendSeqs(ctx context.Context) error {
	if len(t.seqs) == 0 {
		return nil
	}
	ids := make([][]byte, 0, len(t.seqs))
	seqs := make([]int64, 0, len(t.seqs))
	for id, seq := range t.seqs {
		ids = append(ids, id[:])
		seqs = append(seqs, int64(seq))
	}
	if _, err := t.conn.ExecContext(ctx, t.s.q.setSeqs, ids, seqs); err != nil {
		return t.fail(ctx, "SetSeq", err)
	}
	clear(t.seqs)
	return nil
}
