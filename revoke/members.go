package revoke

import (
	"context"
	"fmt"
	"math"
)

// members are the records a revocation writes. Read from the transaction
// that writes them, with a Tx that is a SeqSetter (set), only their index
// entries are kept, which is all SetSeq and the index need: 72 bytes a
// record rather than 232, for each token of a grant of thousands. A
// record the revocation creates (RevokeUntracked) is kept whole, for a Put.
type members struct {
	set     SeqSetter    // the transaction's, or nil
	revs    []Revocation // with set: the records read, Seq not set
	records []Record     // the records to Put
}

// membersOf returns the members of a revocation in tx, none yet.
func membersOf(tx Tx) members {
	s, _ := tx.(SeqSetter)
	return members{set: s}
}

// add adds rec, read from the transaction, or, on a members made without
// membersOf, created by the revocation.
func (m *members) add(rec Record) {
	if m.set != nil {
		m.revs = append(m.revs, rec.Revocation())
		return
	}
	m.records = append(m.records, rec)
}

// liveMembers returns the members of grant a revocation of it writes: those
// not revoked yet, whatever their expiry, since a token this Revoker's
// clock holds expired may still be valid by another server's (see Revoke).
func liveMembers(ctx context.Context, tx Tx, grant ID) (members, error) {
	m := membersOf(tx)
	err := tx.Grant(ctx, grant, func(rec Record) error {
		if !rec.Revoked() {
			m.add(rec)
		}
		return nil
	})
	return m, err
}

// len returns how many records m holds.
func (m *members) len() int { return len(m.revs) + len(m.records) }

// revokeRecords writes m revoked under one new sequence number, appending
// their index entries to revs. With no members it writes nothing and takes
// no number.
func revokeRecords(ctx context.Context, tx Tx, m *members, revs []Revocation) ([]Revocation, error) {
	if m.len() == 0 {
		return revs, nil
	}
	seq, err := tx.NextSeq(ctx)
	if err != nil {
		return revs, err
	}
	if seq == 0 || seq > math.MaxInt64 {
		// A number that wrapped would write the records as live.
		return revs, fmt.Errorf("%w: NextSeq returned %d, outside [1, %d]", errStoreContract, seq, int64(math.MaxInt64))
	}
	if len(m.revs) > 0 {
		ids := make([]ID, len(m.revs))
		for i := range m.revs {
			ids[i] = m.revs[i].ID
		}
		if err := m.set.SetSeq(ctx, seq, ids); err != nil {
			return revs, err
		}
		for i := range m.revs {
			m.revs[i].Seq = seq
		}
		revs = append(revs, m.revs...)
	}
	for _, rec := range m.records {
		rec.Seq = seq
		if err := tx.Put(ctx, rec); err != nil {
			return revs, err
		}
		revs = append(revs, rec.Revocation())
	}
	return revs, nil
}
