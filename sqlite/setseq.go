package sqlite

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
)

var _ revoke.SeqSetter = (*tx)(nil)

// setSeqChunk is how many IDs one statement of SetSeq names. A shorter
// chunk repeats its first ID, so that each of SetSeq's two statements is
// prepared once per transaction.
const setSeqChunk = 128

// setSeqQueries returns SetSeq's statements: by the key (gkey, id) of rows
// whose grant the transaction knows, and by the index on id.
func setSeqQueries(p func(string) string) (byKey, byID string) {
	in := strings.TrimSuffix(strings.Repeat("?, ", setSeqChunk), ", ")
	return p(`UPDATE "{p}tokens" SET seq = ?1 WHERE gkey = ?2 AND id IN (` + in + `)`),
		p(`UPDATE "{p}tokens" SET seq = ?1 WHERE id IN (` + in + `)`)
}

// SetSeq sets the Seq of the records of ids, in a statement per
// setSeqChunk IDs (see revoke.SeqSetter). The rows the transaction knows
// (see tx.known and tx.read) are updated by their key, a grant's at a
// time; the others through the index on id. Neither statement changes a
// column of an index other than seq's.
func (t *tx) SetSeq(ctx context.Context, seq uint64, ids []revoke.ID) error {
	if err := t.check(ctx, "SetSeq", true); err != nil {
		return err
	}
	if seq > math.MaxInt64 {
		return fmt.Errorf("sqlite: SetSeq: sequence number %d does not fit in a signed 64-bit integer", seq)
	}
	if len(ids) == 0 {
		return nil
	}
	var (
		byKey   = make(map[int64][]revoke.ID)
		keys    []int64 // byKey's keys in the order first seen
		unknown []revoke.ID
	)
	for _, id := range ids {
		old, ok := t.known[id]
		if !ok && t.read.Holds(id) {
			old, ok = stored{present: true, gkey: t.readKey}, true
		}
		switch {
		case !ok:
			unknown = append(unknown, id)
		case old.present:
			if _, seen := byKey[old.gkey]; !seen {
				keys = append(keys, old.gkey)
			}
			byKey[old.gkey] = append(byKey[old.gkey], id)
		}
	}
	for _, k := range keys {
		if err := t.setSeqIn(ctx, &t.seqKeyStmt, t.s.q.setSeqKey, []any{int64(seq), k}, byKey[k]); err != nil {
			return wrapf(err, "SetSeq")
		}
	}
	if err := t.setSeqIn(ctx, &t.seqIDStmt, t.s.q.setSeqID, []any{int64(seq)}, unknown); err != nil {
		return wrapf(err, "SetSeq")
	}
	if seq != 0 {
		return t.raiseSeq(ctx, seq)
	}
	return nil
}

// setSeqIn runs query, prepared in *st, with the arguments head then a
// chunk of ids, for each chunk of setSeqChunk IDs.
func (t *tx) setSeqIn(ctx context.Context, st **sqlx.Stmt, query string, head []any, ids []revoke.ID) error {
	if len(ids) == 0 {
		return nil
	}
	stmt, err := t.prepare(ctx, st, query)
	if err != nil {
		return err
	}
	args := make([]any, len(head)+setSeqChunk)
	copy(args, head)
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), setSeqChunk)]
		ids = ids[len(chunk):]
		for i := range setSeqChunk {
			if i < len(chunk) {
				args[len(head)+i] = chunk[i][:]
			} else {
				args[len(head)+i] = chunk[0][:]
			}
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}
