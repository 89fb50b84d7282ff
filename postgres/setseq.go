package postgres

import (
	"context"
	"fmt"
	"math"

	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

var _ revoke.SeqSetter = (*tx)(nil)

// seqNote is a Seq SetSeq set on an ID the transaction has not written,
// to be sent at the next flush, and the grant whose rows hold the ID, when
// the transaction has just read them (see tx.lastGrant).
type seqNote struct {
	seq     uint64
	grant   revoke.ID
	inGrant bool
}

// grantRead is the grant Grant read last, and its rows, until the next
// Put or Delete.
type grantRead struct {
	grant revoke.ID
	rows  sqlrecord.GrantRows
}

// looseChunk bounds the IDs of one UPDATE by the index on id: few enough
// that PostgreSQL looks each up rather than reading the whole table.
const looseChunk = 64

// SetSeq sets the Seq of the records of ids (see revoke.SeqSetter) at the
// next flush, in an UPDATE of the seq column alone: a cascade over a grant
// of any size sends its IDs and one number, not every column of every
// record. A record the transaction Put and has not sent yet gets the Seq in
// the Put, and one Prefetch read gets it in what was read. A later Put or
// Delete of an ID replaces what SetSeq noted, and Get answers with the Seq
// noted until the flush sends it.
//
// The IDs of the grant the transaction read last (a cascade's) are sent as
// a range of the primary key, the grant's; the others through the index on
// id, looseChunk at a time.
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
			t.seqs = make(map[revoke.ID]seqNote, len(ids))
		}
		t.seqs[id] = seqNote{seq: seq, grant: t.lastGrant.grant, inGrant: t.lastGrant.rows.Holds(id)}
	}
	if len(ids) > 0 && seq > t.seq {
		t.raise = max(t.raise, seq)
	}
	return nil
}

// sendSeqs sends what SetSeq noted for the IDs the transaction has not
// written since: an UPDATE per grant and Seq for the IDs of a grant read,
// and one per looseChunk others.
func (t *tx) sendSeqs(ctx context.Context) error {
	if len(t.seqs) == 0 {
		return nil
	}
	type grantSeq struct {
		grant revoke.ID
		seq   uint64
	}
	var (
		inGrant   = make(map[grantSeq][][]byte)
		ids, seqs = make([][]byte, 0, len(t.seqs)), make([]int64, 0, len(t.seqs))
	)
	for id, n := range t.seqs {
		if n.inGrant {
			k := grantSeq{n.grant, n.seq}
			inGrant[k] = append(inGrant[k], id[:])
			continue
		}
		ids, seqs = append(ids, id[:]), append(seqs, int64(n.seq))
	}
	for k, ids := range inGrant {
		if _, err := t.conn.ExecContext(ctx, t.s.q.setSeqInGrant, int64(k.seq), k.grant[:], ids); err != nil {
			return t.fail(ctx, "SetSeq", err)
		}
	}
	for len(ids) > 0 {
		n := min(len(ids), looseChunk)
		if _, err := t.conn.ExecContext(ctx, t.s.q.setSeqs, ids[:n], seqs[:n]); err != nil {
			return t.fail(ctx, "SetSeq", err)
		}
		ids, seqs = ids[n:], seqs[n:]
	}
	clear(t.seqs)
	return nil
}
