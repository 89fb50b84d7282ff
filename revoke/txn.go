package revoke

import (
	"context"
	"fmt"
	"math"
)

// txn is a write transaction as the Revoker's operations see it: the
// store's Tx, the records read or written so far, and the writes not yet
// sent. It is what keeps a store that pays a round trip per statement fast
// without a cache of its own: the records a group commit's operations
// declared are read in one Get (see load), their writes are sent in one Put
// (see flush), and a grant's cascade is one RevokeGrants.
//
// Writes are sent before every store call whose result they could change
// (RevokeGrants, GrantsOf) and at the end of the transaction.
type txn struct {
	tx      Tx
	records map[ID]Record // read or written; absent IDs read map to found == false
	known   map[ID]bool   // IDs read or written: true when the store holds them
	dirty   map[ID]bool   // IDs written and not yet sent
	pending []ID          // the IDs of dirty, in order of first write
}

func newTxn(tx Tx) *txn {
	return &txn{tx: tx, records: make(map[ID]Record), known: make(map[ID]bool), dirty: make(map[ID]bool)}
}

// load reads, in one Get, those of ids the transaction has not read yet.
func (t *txn) load(ctx context.Context, ids []ID) error {
	var missing []ID
	for _, id := range ids {
		if _, ok := t.known[id]; !ok {
			missing = append(missing, id)
			t.known[id] = false // also drops duplicates of ids
		}
	}
	if len(missing) == 0 {
		return nil
	}
	recs, err := t.tx.Get(ctx, missing)
	if err != nil {
		for _, id := range missing {
			delete(t.known, id)
		}
		return err
	}
	for _, rec := range recs {
		if found, asked := t.known[rec.ID]; !asked || found {
			return fmt.Errorf("%w: Get returned a record not asked for, or twice", errStoreContract)
		}
		t.records[rec.ID], t.known[rec.ID] = rec, true
	}
	return nil
}

// get returns the record of id as the transaction sees it.
func (t *txn) get(ctx context.Context, id ID) (Record, bool, error) {
	if err := t.load(ctx, []ID{id}); err != nil {
		return Record{}, false, err
	}
	return t.records[id], t.known[id], nil
}

// put writes rec, to be sent at the next flush.
func (t *txn) put(rec Record) {
	if !t.dirty[rec.ID] {
		t.dirty[rec.ID] = true
		t.pending = append(t.pending, rec.ID)
	}
	t.records[rec.ID], t.known[rec.ID] = rec, true
}

// flush sends the pending writes in one Put.
func (t *txn) flush(ctx context.Context) error {
	if len(t.pending) == 0 {
		return nil
	}
	recs := make([]Record, len(t.pending))
	for i, id := range t.pending {
		recs[i] = t.records[id]
	}
	if err := t.tx.Put(ctx, recs); err != nil {
		return err
	}
	t.pending = t.pending[:0]
	clear(t.dirty)
	return nil
}

// nextSeq returns a new revocation sequence number from the store.
func (t *txn) nextSeq(ctx context.Context) (uint64, error) {
	seq, err := t.tx.NextSeq(ctx)
	if err != nil {
		return 0, err
	}
	if seq == 0 || seq > math.MaxInt64 {
		// A number that wrapped would write the records as live.
		return 0, fmt.Errorf("%w: NextSeq returned %d, outside [1, %d]", errStoreContract, seq, int64(math.MaxInt64))
	}
	return seq, nil
}

// revokeGrants revokes every live record of grants under one new sequence
// number and appends their index entries to revs. With no grants it writes
// nothing and takes no number.
func (t *txn) revokeGrants(ctx context.Context, grants []ID, revs []Revocation) ([]Revocation, error) {
	if len(grants) == 0 {
		return revs, nil
	}
	if err := t.flush(ctx); err != nil {
		return revs, err
	}
	seq, err := t.nextSeq(ctx)
	if err != nil {
		return revs, err
	}
	got, err := t.tx.RevokeGrants(ctx, seq, grants)
	if err != nil {
		return revs, err
	}
	for _, rev := range got {
		if rev.Seq != seq {
			return revs, fmt.Errorf("%w: RevokeGrants returned a record at Seq %d, not %d", errStoreContract, rev.Seq, seq)
		}
		if rec, ok := t.records[rev.ID]; ok {
			rec.Seq = seq
			t.records[rev.ID] = rec
		}
	}
	return append(revs, got...), nil
}

// revokeRecord writes rec revoked under a new sequence number and appends
// its index entry to revs: an access token revoked alone, or a token
// revoked without a record (RevokeUntracked).
func (t *txn) revokeRecord(ctx context.Context, rec Record, revs []Revocation) ([]Revocation, error) {
	seq, err := t.nextSeq(ctx)
	if err != nil {
		return revs, err
	}
	rec.Seq = seq
	t.put(rec)
	return append(revs, rec.Revocation()), nil
}

// grantsOf lists grants of an owner, after the pending writes are sent.
func (t *txn) grantsOf(ctx context.Context, by Owner, key string, after ID, limit int) ([]ID, error) {
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return t.tx.GrantsOf(ctx, by, key, after, limit)
}
