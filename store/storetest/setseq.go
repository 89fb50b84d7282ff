package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// testSetSeq checks the contract of revoke.SeqSetter, for a store whose Tx
// implements it: SetSeq changes the Seq of the records it names and nothing
// else, whether the transaction read them, wrote them or neither; it leaves
// absent and deleted records absent; the transaction's later writes win;
// the indexes follow (RevokedSince, Grants, Grant); NextSeq stays above a
// Seq it set; a rollback undoes it; Seq 0 takes a record out of
// RevokedSince. For a Tx that does not implement it, the same checks run
// with a Get and a Put of each record, which is what SetSeq must equal.
func testSetSeq(t *testing.T, open func(*testing.T) revoke.Store) {
	s := open(t)
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).UTC().Round(time.Microsecond)
	rec := func(name string, grant, parent revoke.ID, kind revoke.Kind) revoke.Record {
		id := revoke.TokenID("setseq-" + name)
		if grant.IsZero() {
			grant = id
		}
		return revoke.Record{ID: id, Check: revoke.Checksum("setseq-" + name), Kind: kind, ClientID: "c1",
			Subject: "alice", Parent: parent, Grant: grant, ExpiresAt: exp}
	}
	// A grant of three: a rotated refresh token, its successor and an
	// access token; a lone access token; and records for the transaction
	// to write first.
	root := rec("root", revoke.ID{}, revoke.ID{}, revoke.Refresh)
	next := rec("next", root.ID, root.ID, revoke.Refresh)
	access := rec("access", root.ID, next.ID, revoke.Access)
	sibling := rec("sibling", root.ID, next.ID, revoke.Access) // not named
	root.Successor, root.RotatedAt, root.Retries = next.ID, exp.Add(-time.Minute), 2
	lone := rec("lone", revoke.ID{}, revoke.ID{}, revoke.Access)
	lone.Subject = ""
	doomed := rec("doomed", revoke.ID{}, revoke.ID{}, revoke.Access)
	rewritten := rec("rewritten", revoke.ID{}, revoke.ID{}, revoke.Access)
	early := rec("early", revoke.ID{}, revoke.ID{}, revoke.Refresh)
	absent := rec("absent", revoke.ID{}, revoke.ID{}, revoke.Access)
	if err := s.Update(ctx, func(tx revoke.Tx) error {
		for _, r := range []revoke.Record{root, next, access, sibling, lone, doomed, rewritten} {
			if err := tx.Put(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("Update putting the records: %v", err)
	}

	implemented := false
	// setSeq calls SetSeq, or does what it must equal.
	setSeq := func(tx revoke.Tx, seq uint64, ids ...revoke.ID) error {
		if ss, ok := tx.(revoke.SeqSetter); ok {
			implemented = true
			if err := ss.SetSeq(ctx, seq, ids); err != nil {
				return fmt.Errorf("SetSeq(%d, %d IDs): %w", seq, len(ids), err)
			}
			return nil
		}
		for _, id := range ids {
			r, found, err := tx.Get(ctx, id)
			if err != nil || !found {
				if err != nil {
					return err
				}
				continue
			}
			r.Seq = seq
			if err := tx.Put(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}
	with := func(r revoke.Record, seq uint64) *revoke.Record { r.Seq = seq; return &r }

	// A Seq above the counter, as an import writes: NextSeq must stay
	// above it.
	var seq uint64
	if err := s.Update(ctx, func(tx revoke.Tx) error {
		n, err := tx.NextSeq(ctx)
		seq = n + 1000
		return err
	}); err != nil {
		t.Fatalf("Update taking a sequence number: %v", err)
	}
	replaced := rewritten
	replaced.Subject, replaced.Seq = "bob", 0
	err := s.Update(ctx, func(tx revoke.Tx) error {
		// next is read before, the others not, but for the grant of
		// root; early is Put in this transaction, doomed deleted; absent
		// was never written.
		if err := wantGet(ctx, tx, "read before SetSeq", next.ID, &next); err != nil {
			return err
		}
		if err := tx.Put(ctx, early); err != nil {
			return err
		}
		if err := tx.Delete(ctx, doomed.ID); err != nil {
			return err
		}
		// The grant read before, as a cascade reads it.
		before := 0
		if err := tx.Grant(ctx, root.ID, func(revoke.Record) error { before++; return nil }); err != nil {
			return fmt.Errorf("tx.Grant before SetSeq: %w", err)
		}
		if before != 4 {
			return fmt.Errorf("tx.Grant before SetSeq reports %d records, want 4", before)
		}
		if err := setSeq(tx, seq); err != nil { // no IDs: nothing changes
			return err
		}
		ids := []revoke.ID{root.ID, next.ID, access.ID, lone.ID, early.ID, doomed.ID, absent.ID, rewritten.ID, next.ID}
		if err := setSeq(tx, seq, ids...); err != nil {
			return err
		}
		// A later write wins over SetSeq.
		if err := tx.Put(ctx, replaced); err != nil {
			return err
		}
		checks := []getCase{
			{"grant's first token", root.ID, with(root, seq)},
			{"record read before", next.ID, with(next, seq)},
			{"record not read", access.ID, with(access, seq)},
			{"record of the grant not named", sibling.ID, &sibling},
			{"record without a subject", lone.ID, with(lone, seq)},
			{"record Put in the transaction", early.ID, with(early, seq)},
			{"record deleted in the transaction", doomed.ID, nil},
			{"record never written", absent.ID, nil},
			{"record Put after SetSeq", rewritten.ID, &replaced},
		}
		if err := wantGets(ctx, tx, ", in the transaction", checks); err != nil {
			return err
		}
		// A read of a grant sends what a store buffers.
		members := 0
		if err := tx.Grant(ctx, root.ID, func(r revoke.Record) error {
			want := seq
			if r.ID == sibling.ID {
				want = 0
			}
			if r.Seq != want {
				return fmt.Errorf("tx.Grant reports %x with Seq %d, want %d", r.ID[:4], r.Seq, want)
			}
			members++
			return nil
		}); err != nil {
			return fmt.Errorf("tx.Grant after SetSeq: %w", err)
		}
		if members != 4 {
			return fmt.Errorf("tx.Grant after SetSeq reports %d records, want 4", members)
		}
		return wantGets(ctx, tx, ", after a read of a grant", checks)
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}

	committed := func(step string, seq uint64, revoked ...revoke.ID) {
		t.Helper()
		err := s.View(ctx, func(tx revoke.Tx) error {
			if err := wantGets(ctx, tx, "", []getCase{
				{step + ": grant's first token", root.ID, with(root, seq)},
				{step + ": record read", next.ID, with(next, seq)},
				{step + ": record not read", access.ID, with(access, seq)},
				{step + ": record not named", sibling.ID, &sibling},
				{step + ": record without a subject", lone.ID, with(lone, seq)},
				{step + ": record Put in the transaction", early.ID, with(early, seq)},
				{step + ": record deleted", doomed.ID, nil},
				{step + ": record never written", absent.ID, nil},
				{step + ": record Put after SetSeq", rewritten.ID, &replaced},
			}); err != nil {
				return err
			}
			var got []revoke.ID
			if err := tx.RevokedSince(ctx, 0, func(r revoke.Revocation) error {
				if r.Seq != seq {
					return fmt.Errorf("RevokedSince reports %x at Seq %d, want %d", r.ID[:4], r.Seq, seq)
				}
				got = append(got, r.ID)
				return nil
			}); err != nil {
				return err
			}
			slices.SortFunc(got, compareIDs)
			slices.SortFunc(revoked, compareIDs)
			if !slices.Equal(got, revoked) {
				return fmt.Errorf("RevokedSince reports %d records, want %d", len(got), len(revoked))
			}
			for _, o := range []struct {
				by   revoke.Owner
				key  string
				want []revoke.ID
			}{
				{revoke.BySubject, "alice", sortedIDs(root.ID, early.ID)},
				{revoke.BySubject, "bob", []revoke.ID{rewritten.ID}},
				{revoke.ByClient, "c1", sortedIDs(root.ID, lone.ID, early.ID, rewritten.ID)},
			} {
				var grants []revoke.ID
				if err := tx.Grants(ctx, o.by, o.key, revoke.ID{}, 10, func(g revoke.ID) error {
					grants = append(grants, g)
					return nil
				}); err != nil {
					return err
				}
				if !slices.Equal(grants, o.want) {
					return fmt.Errorf("Grants(%v, %q) reports %d grants, want %d", o.by, o.key, len(grants), len(o.want))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	revoked := []revoke.ID{root.ID, next.ID, access.ID, lone.ID, early.ID}
	committed("committed", seq, revoked...)
	if err := s.Update(ctx, func(tx revoke.Tx) error {
		n, err := tx.NextSeq(ctx)
		if err == nil && n <= seq {
			err = fmt.Errorf("NextSeq = %d after SetSeq wrote Seq %d, want more", n, seq)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// A rollback undoes SetSeq.
	errRollback := errors.New("rolled back on purpose")
	err = s.Update(ctx, func(tx revoke.Tx) error {
		if err := setSeq(tx, seq+1, revoked...); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Update that fails = %v, want %v", err, errRollback)
	}
	committed("after a rollback", seq, revoked...)

	// Seq 0 takes the records out of RevokedSince.
	if err := s.Update(ctx, func(tx revoke.Tx) error { return setSeq(tx, 0, revoked...) }); err != nil {
		t.Fatalf("Update setting Seq 0: %v", err)
	}
	committed("after SetSeq 0", 0)
	if !implemented {
		t.Log("the store's Tx does not implement revoke.SeqSetter: checked Get and Put alone")
	}
}

func compareIDs(a, b revoke.ID) int { return slices.Compare(a[:], b[:]) }

func sortedIDs(ids ...revoke.ID) []revoke.ID {
	slices.SortFunc(ids, compareIDs)
	return ids
}

// testSetSeqAmongWrites checks SetSeq beside the transaction's other calls,
// as a shared transaction mixes them: records read ahead by Prefetch (for a
// Tx that implements it), before SetSeq or after it, read back with the new
// Seq before and after a read that sends buffered writes; a grant of 300 records, more than a statement
// may name at once; a record moved to another grant after its grant was
// read, and the move sent; NextSeq in the same transaction after a Seq above the
// counter; a Delete after SetSeq; and Scan and Expired after it.
func testSetSeqAmongWrites(t *testing.T, open func(*testing.T) revoke.Store) {
	s := open(t)
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	now := time.Now().UTC()
	exp := now.Add(time.Hour)
	rec := func(name string, grant revoke.ID, expires time.Time) revoke.Record {
		id := revoke.TokenID("among-" + name)
		if grant.IsZero() {
			grant = id
		}
		return revoke.Record{ID: id, Check: revoke.Checksum("among-" + name), Kind: revoke.Access, ClientID: "c1",
			Subject: "alice", Grant: grant, ExpiresAt: expires}
	}
	big := rec("big", revoke.ID{}, exp)
	big.Kind = revoke.Refresh
	members := []revoke.Record{big}
	for i := range 299 {
		members = append(members, rec(fmt.Sprint("big-", i), big.ID, exp))
	}
	other := rec("other", revoke.ID{}, exp)
	other.Kind = revoke.Refresh
	mover := rec("mover", big.ID, exp)    // moves to other's grant
	gone := rec("gone", revoke.ID{}, exp) // deleted after SetSeq
	stale := rec("stale", revoke.ID{}, now.Add(-time.Hour))
	if err := s.Update(ctx, func(tx revoke.Tx) error {
		for _, r := range append(members, other, mover, gone, stale) {
			if err := tx.Put(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("Update putting the records: %v", err)
	}
	named := []revoke.ID{other.ID, mover.ID, gone.ID, stale.ID}
	for _, m := range members {
		named = append(named, m.ID)
	}
	var seq uint64
	err := s.Update(ctx, func(tx revoke.Tx) error {
		// The grant's records are read ahead now, the others (named[:4])
		// after SetSeq.
		if p, ok := tx.(revoke.Prefetcher); ok {
			if err := p.Prefetch(ctx, named[4:]); err != nil {
				return err
			}
		}
		// Read a grant, as a cascade does, then move one of its records
		// to another grant, and read the client's grants (which sends the
		// move), then SetSeq above the counter.
		n := 0
		if err := tx.Grant(ctx, big.ID, func(revoke.Record) error { n++; return nil }); err != nil {
			return err
		}
		if n != len(members)+1 {
			return fmt.Errorf("tx.Grant reports %d records, want %d", n, len(members)+1)
		}
		moved := mover
		moved.Grant = other.ID
		if err := tx.Put(ctx, moved); err != nil {
			return err
		}
		n = 0
		if err := tx.Grants(ctx, revoke.ByClient, "c1", revoke.ID{}, 10, func(revoke.ID) error { n++; return nil }); err != nil {
			return err
		}
		if n != 4 {
			return fmt.Errorf("tx.Grants of the client reports %d grants, want 4", n)
		}
		next, err := tx.NextSeq(ctx)
		if err != nil {
			return err
		}
		seq = next + 500
		if ss, ok := tx.(revoke.SeqSetter); ok {
			if err := ss.SetSeq(ctx, seq, named); err != nil {
				return err
			}
		} else {
			for _, id := range named {
				r, found, err := tx.Get(ctx, id)
				if err != nil || !found {
					return fmt.Errorf("tx.Get %x = found %v, err %v", id[:4], found, err)
				}
				r.Seq = seq
				if err := tx.Put(ctx, r); err != nil {
					return err
				}
			}
		}
		check := func(step string) error {
			for _, id := range named {
				r, found, err := tx.Get(ctx, id)
				switch {
				case err != nil:
					return fmt.Errorf("%s: Get: %w", step, err)
				case !found:
					return fmt.Errorf("%s: Get %x found nothing", step, id[:4])
				case r.Seq != seq:
					return fmt.Errorf("%s: Get %x = Seq %d, want %d", step, id[:4], r.Seq, seq)
				case id == mover.ID && r.Grant != other.ID:
					return fmt.Errorf("%s: the moved record is in grant %x, want %x", step, r.Grant[:4], other.ID[:4])
				}
			}
			return nil
		}
		if err := check("after SetSeq"); err != nil {
			return err
		}
		// Read ahead after SetSeq, one then several.
		if p, ok := tx.(revoke.Prefetcher); ok {
			if err := p.Prefetch(ctx, named[:1]); err != nil {
				return err
			}
			if err := p.Prefetch(ctx, named[:4]); err != nil {
				return err
			}
		}
		// A read of a grant sends what a store buffers.
		inOther := 0
		if err := tx.Grant(ctx, other.ID, func(r revoke.Record) error {
			if r.Seq != seq {
				return fmt.Errorf("tx.Grant of the other grant reports %x at Seq %d, want %d", r.ID[:4], r.Seq, seq)
			}
			inOther++
			return nil
		}); err != nil {
			return err
		}
		if inOther != 2 {
			return fmt.Errorf("the other grant holds %d records, want 2 (it and the moved one)", inOther)
		}
		if err := check("after a read of a grant"); err != nil {
			return err
		}
		if n, err := tx.NextSeq(ctx); err != nil || n <= seq {
			return fmt.Errorf("NextSeq in the same transaction = (%d, %v), want above %d", n, err, seq)
		}
		expired := 0
		if err := tx.Expired(ctx, now, 10, func(r revoke.Record) error {
			if r.ID != stale.ID || r.Seq != seq {
				return fmt.Errorf("tx.Expired reports %x at Seq %d, want the stale record at %d", r.ID[:4], r.Seq, seq)
			}
			expired++
			return nil
		}); err != nil {
			return err
		}
		if expired != 1 {
			return fmt.Errorf("tx.Expired reports %d records, want 1", expired)
		}
		return tx.Delete(ctx, gone.ID)
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}

	revoked := 0
	if err := s.View(ctx, func(tx revoke.Tx) error {
		if _, found, err := tx.Get(ctx, gone.ID); err != nil || found {
			return fmt.Errorf("tx.Get of the record deleted after SetSeq = found %v, err %v", found, err)
		}
		if err := tx.RevokedSince(ctx, 0, func(r revoke.Revocation) error {
			if r.Seq != seq {
				return fmt.Errorf("RevokedSince reports %x at Seq %d, want %d", r.ID[:4], r.Seq, seq)
			}
			revoked++
			return nil
		}); err != nil {
			return err
		}
		scanned := 0
		err := tx.Scan(ctx, revoke.ID{}, 1000, func(r revoke.Record) error {
			if r.Seq != seq {
				return fmt.Errorf("tx.Scan reports %x at Seq %d, want %d", r.ID[:4], r.Seq, seq)
			}
			scanned++
			return nil
		})
		if err == nil && scanned != revoked {
			err = fmt.Errorf("tx.Scan reports %d records, RevokedSince %d", scanned, revoked)
		}
		return err
	}); err != nil {
		t.Fatalf("View: %v", err)
	}
	if want := len(named) - 1; revoked != want {
		t.Fatalf("RevokedSince reports %d records, want %d", revoked, want)
	}
}
