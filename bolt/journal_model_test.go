package bolt

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// TestJournalAgainstMemory runs random transactions on a Store from Open,
// whose applier runs every few changes, and on the memory store, and
// compares what every Tx method reports, inside the Updates (the
// transaction's own writes over the layers) and in Views: whatever layers
// a record's versions are spread over (tree, frozen, active, own writes),
// the answers are the same.
func TestJournalAgainstMemory(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { modelRun(t, seed) })
	}
}

// modelBase is the earliest expiry of the model's records.
var modelBase = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// modelOp is one write of the model, run on both stores.
type modelOp func(ctx context.Context, tx revoke.Tx) error

// model generates random writes that keep the contract's grant
// invariants: a record stays in its grant unless it is deleted, and put
// again in another grant in a later transaction (moving), and a grant's
// owners are a function of the grant.
type model struct {
	r      *rand.Rand
	names  []string
	grant  map[string]string // the grant each name is put in
	moving map[string]string // names deleted, to be put in this grant next
}

func newModel(seed uint64) *model {
	m := &model{r: rand.New(rand.NewPCG(seed, 99)), names: []string{"a", "b", "c", "d", "e", "f", "g", "h"}, grant: map[string]string{}, moving: map[string]string{}}
	for _, n := range m.names {
		m.grant[n] = m.names[m.r.IntN(4)]
	}
	return m
}

// record returns a random version of the record of name.
func (m *model) record(name string) revoke.Record {
	g := m.grant[name]
	rc := rec(name, g)
	i := slices.Index(m.names, g)
	rc.Subject, rc.ClientID = fmt.Sprint("s", i%3), fmt.Sprint("c", i%2)
	rc.ExpiresAt = modelBase.Add(time.Duration(m.r.IntN(4)) * time.Hour)
	if m.r.IntN(2) == 0 {
		rc.Seq = uint64(1 + m.r.IntN(20))
	}
	return rc
}

func putOp(rc revoke.Record) modelOp {
	return func(ctx context.Context, tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rc}) }
}

func deleteOp(id revoke.ID) modelOp {
	return func(ctx context.Context, tx revoke.Tx) error { return tx.Delete(ctx, []revoke.ID{id}) }
}

// ops returns a transaction's random writes: first the records moving,
// put in their new grants, then a few deletions, puts, revocations of
// grants and records to move (deleted now).
func (m *model) ops(step int) []modelOp {
	var ops []modelOp
	for _, name := range m.names {
		if g := m.moving[name]; g != "" {
			m.grant[name] = g
			ops = append(ops, putOp(m.record(name)))
		}
	}
	clear(m.moving)
	for range 1 + m.r.IntN(4) {
		name := m.names[m.r.IntN(len(m.names))]
		id := revoke.TokenID(name)
		switch k := m.r.IntN(6); {
		case k == 0 || m.moving[name] != "":
			ops = append(ops, deleteOp(id))
		case k == 1:
			m.moving[name] = m.names[m.r.IntN(4)]
			ops = append(ops, deleteOp(id))
		case k == 2:
			gs := []revoke.ID{revoke.TokenID(m.names[m.r.IntN(4)]), revoke.TokenID(m.names[m.r.IntN(4)])}
			seq := uint64(100 + step)
			ops = append(ops, func(ctx context.Context, tx revoke.Tx) error {
				_, err := tx.RevokeGrants(ctx, seq, gs)
				return err
			})
		default:
			ops = append(ops, putOp(m.record(name)))
		}
	}
	return ops
}

func modelRun(t *testing.T, seed uint64) {
	path := filepath.Join(t.TempDir(), "revocation.db")
	open := func() *Store {
		s, err := Open(path, WithNoSync(), withApply(3, time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	defer func() { _ = s.Close() }()
	mem := memory.New()
	defer mem.Close()
	m := newModel(seed)
	for step := range 400 {
		if err := modelStep(mem, s, m.ops(step), step%3 == 0); err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if step%50 == 49 {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = open()
		}
	}
}

// modelStep runs ops in an Update of each store, comparing them inside it
// when check, then compares them in a View.
func modelStep(mem revoke.Store, s *Store, ops []modelOp, check bool) error {
	err := mem.Update(bg, func(mt revoke.Tx) error {
		return s.Update(bg, func(bt revoke.Tx) error {
			for _, o := range ops {
				if err := o(bg, mt); err != nil {
					return err
				}
				if err := o(bg, bt); err != nil {
					return err
				}
			}
			if check {
				return compareTx(mt, bt, true)
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("Update: %w", err)
	}
	if err := mem.View(bg, func(mt revoke.Tx) error {
		return s.View(bg, func(bt revoke.Tx) error { return compareTx(mt, bt, false) })
	}); err != nil {
		return fmt.Errorf("View: %w", err)
	}
	return nil
}

// compareTx compares what want, the memory store's transaction, and got
// report.
func compareTx(want, got revoke.Tx, write bool) error {
	all, err := want.Scan(bg, revoke.ID{}, 100)
	if err != nil {
		return err
	}
	checks := []func() error{
		func() error { return compareScan(want, got, all) },
		func() error { return compareGet(got, all) },
		func() error { return compareMembers(got, all) },
		func() error { return compareGrantsOf(want, got) },
		func() error { return compareRevokedSince(want, got) },
		func() error { return compareExpired(want, got) },
	}
	if write {
		checks = append(checks, func() error {
			a, err1 := want.NextSeq(bg)
			b, err2 := got.NextSeq(bg)
			if err1 != nil || err2 != nil || b < a {
				return fmt.Errorf("NextSeq: %d %v, want at least %d %v", b, err2, a, err1)
			}
			return nil
		})
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// compareScan compares the pages of Scan from every record of all.
func compareScan(want, got revoke.Tx, all []revoke.Record) error {
	for _, limit := range []int{1, 2, 100} {
		for _, after := range append([]revoke.Record{{}}, all...) {
			w, err1 := want.Scan(bg, after.ID, limit)
			g, err2 := got.Scan(bg, after.ID, limit)
			if err1 != nil || err2 != nil || !slices.EqualFunc(w, g, same) {
				return fmt.Errorf("Scan(%s, %d): %v %v, want %v %v", after.ID, limit, g, err2, w, err1)
			}
		}
	}
	return nil
}

// compareGet gets all from got, one by one and in one call with
// duplicates and a missing ID.
func compareGet(got revoke.Tx, all []revoke.Record) error {
	ids := []revoke.ID{revoke.TokenID("missing")}
	for _, rc := range all {
		g, found, err := getOne(got, rc.ID)
		if err != nil || !found || !same(g, rc) {
			return fmt.Errorf("Get %s: %+v %v %v, want %+v", rc.ID, g, found, err, rc)
		}
		ids = append(ids, rc.ID, rc.ID)
	}
	recs, err := got.Get(bg, ids)
	if err != nil || len(recs) != len(all) {
		return fmt.Errorf("Get of %d IDs: %d records, %v, want %d", len(ids), len(recs), err, len(all))
	}
	return nil
}

// compareMembers compares the members of the model's grants in got with
// those all holds.
func compareMembers(got revoke.Tx, all []revoke.Record) error {
	for _, n := range []string{"a", "b", "c", "d"} {
		g := revoke.TokenID(n)
		var w []revoke.ID
		for _, rc := range all {
			if rc.Grant == g {
				w = append(w, rc.ID)
			}
		}
		recs, err := members(got, g)
		ids := make([]revoke.ID, 0, len(recs))
		for _, rc := range recs {
			ids = append(ids, rc.ID)
		}
		slices.SortFunc(ids, func(a, b revoke.ID) int { return slices.Compare(a[:], b[:]) })
		if err != nil || !slices.Equal(w, ids) {
			return fmt.Errorf("members of %s: %v %v, want %v", g, ids, err, w)
		}
	}
	return nil
}

// compareGrantsOf compares GrantsOf of every owner of the model, a first
// page and the next.
func compareGrantsOf(want, got revoke.Tx) error {
	for _, by := range []revoke.Owner{revoke.BySubject, revoke.ByClient} {
		for _, key := range []string{"s0", "s1", "s2", "c0", "c1", ""} {
			for _, limit := range []int{1, 2, 10} {
				w, err1 := want.GrantsOf(bg, by, key, revoke.ID{}, limit)
				g, err2 := got.GrantsOf(bg, by, key, revoke.ID{}, limit)
				if err1 != nil || err2 != nil || !slices.Equal(w, g) {
					return fmt.Errorf("GrantsOf(%v, %q, %d): %v %v, want %v %v", by, key, limit, g, err2, w, err1)
				}
				if len(w) == 0 {
					continue
				}
				w, _ = want.GrantsOf(bg, by, key, w[0], limit)
				g, err2 = got.GrantsOf(bg, by, key, g[0], limit)
				if err2 != nil || !slices.Equal(w, g) {
					return fmt.Errorf("GrantsOf(%v, %q, after, %d): %v %v, want %v", by, key, limit, g, err2, w)
				}
			}
		}
	}
	return nil
}

// compareRevokedSince compares RevokedSince from a few Seqs. Equal Seqs
// (imported) come in no defined order: the revocations are compared as
// sets, and their Seqs in order.
func compareRevokedSince(want, got revoke.Tx) error {
	revs := func(tx revoke.Tx, since uint64) ([]revoke.Revocation, error) {
		var out []revoke.Revocation
		err := tx.RevokedSince(bg, since, func(r revoke.Revocation) error { out = append(out, r); return nil })
		return out, err
	}
	seqs := func(rs []revoke.Revocation) []uint64 {
		var out []uint64
		for _, r := range rs {
			out = append(out, r.Seq)
		}
		return out
	}
	sorted := func(rs []revoke.Revocation) []revoke.Revocation {
		rs = slices.Clone(rs)
		slices.SortFunc(rs, func(a, b revoke.Revocation) int { return slices.Compare(a.ID[:], b.ID[:]) })
		return rs
	}
	sameRev := func(a, b revoke.Revocation) bool {
		return a.ID == b.ID && a.Seq == b.Seq && a.Check == b.Check && a.ExpiresAt.Equal(b.ExpiresAt)
	}
	for _, since := range []uint64{0, 5, 10, 15, 150} {
		w, err1 := revs(want, since)
		g, err2 := revs(got, since)
		if err1 != nil || err2 != nil || !slices.Equal(seqs(w), seqs(g)) || !slices.EqualFunc(sorted(w), sorted(g), sameRev) {
			return fmt.Errorf("RevokedSince(%d): %v %v, want %v %v", since, g, err2, w, err1)
		}
	}
	return nil
}

// compareExpired compares how many records Expired reports, distinct and
// expired, by a few times and limits.
func compareExpired(want, got revoke.Tx) error {
	for h := range 5 {
		before := modelBase.Add(time.Duration(h) * time.Hour)
		for _, limit := range []int{1, 3, 100} {
			w, err1 := want.Expired(bg, before, limit)
			g, err2 := got.Expired(bg, before, limit)
			if err1 != nil || err2 != nil || len(w) != len(g) || !distinct(g) {
				return fmt.Errorf("Expired(%v, %d): %v %v, want %d records %v", before, limit, g, err2, len(w), err1)
			}
			if err := allExpired(got, g, before); err != nil {
				return err
			}
		}
	}
	return nil
}

// allExpired checks that the records of ids expire before before.
func allExpired(tx revoke.Tx, ids []revoke.ID, before time.Time) error {
	recs, err := tx.Get(bg, ids)
	if err != nil || len(recs) != len(ids) {
		return fmt.Errorf("Get of the %d expired: %d records, %v", len(ids), len(recs), err)
	}
	for _, r := range recs {
		if !r.ExpiresAt.Before(before) {
			return fmt.Errorf("Expired(%v) reported %s expiring %v", before, r.ID, r.ExpiresAt)
		}
	}
	return nil
}

// distinct reports whether ids holds no ID twice.
func distinct(ids []revoke.ID) bool {
	seen := map[revoke.ID]bool{}
	for _, id := range ids {
		if seen[id] {
			return false
		}
		seen[id] = true
	}
	return true
}
