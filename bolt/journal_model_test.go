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

func modelRun(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 99))
	path := filepath.Join(t.TempDir(), "revocation.db")
	s, err := Open(path, WithNoSync(), withApply(3, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	m := memory.New()
	defer m.Close()
	names := []string{"a", "b", "c", "d", "e", "f", "g", "h"}
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	randRec := func() revoke.Record {
		rc := rec(names[r.IntN(len(names))], names[r.IntN(4)])
		rc.Subject = fmt.Sprint("s", r.IntN(3))
		rc.ClientID = fmt.Sprint("c", r.IntN(2))
		rc.ExpiresAt = base.Add(time.Duration(r.IntN(4)) * time.Hour)
		if r.IntN(2) == 0 {
			rc.Seq = uint64(1 + r.IntN(20))
		}
		return rc
	}
	type op func(ctx context.Context, tx revoke.Tx) error
	randOps := func() []op {
		var ops []op
		for range 1 + r.IntN(4) {
			switch r.IntN(4) {
			case 0:
				id := revoke.TokenID(names[r.IntN(len(names))])
				ops = append(ops, func(ctx context.Context, tx revoke.Tx) error { return tx.Delete(ctx, id) })
			default:
				rc := randRec()
				ops = append(ops, func(ctx context.Context, tx revoke.Tx) error { return tx.Put(ctx, rc) })
			}
		}
		return ops
	}
	for step := range 400 {
		ops := randOps()
		err := m.Update(bg, func(mt revoke.Tx) error {
			return s.Update(bg, func(bt revoke.Tx) error {
				for _, o := range ops {
					if err := o(bg, mt); err != nil {
						return err
					}
					if err := o(bg, bt); err != nil {
						return err
					}
				}
				if step%3 == 0 {
					return compareTx(mt, bt, true)
				}
				return nil
			})
		})
		if err != nil {
			t.Fatalf("step %d: Update: %v", step, err)
		}
		if err := m.View(bg, func(mt revoke.Tx) error {
			return s.View(bg, func(bt revoke.Tx) error { return compareTx(mt, bt, false) })
		}); err != nil {
			t.Fatalf("step %d: View: %v", step, err)
		}
		if step%50 == 49 {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if s, err = Open(path, WithNoSync(), withApply(3, time.Millisecond)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// compareTx compares what want, the memory store's transaction, and got
// report.
func compareTx(want, got revoke.Tx, write bool) error {
	ctx := bg
	scan := func(tx revoke.Tx, after revoke.ID, limit int) ([]revoke.Record, error) {
		var out []revoke.Record
		err := tx.Scan(ctx, after, limit, func(r revoke.Record) error { out = append(out, r); return nil })
		return out, err
	}
	all, err := scan(want, revoke.ID{}, 100)
	if err != nil {
		return err
	}
	for _, limit := range []int{1, 2, 100} {
		for _, after := range append([]revoke.Record{{}}, all...) {
			w, err1 := scan(want, after.ID, limit)
			g, err2 := scan(got, after.ID, limit)
			if err1 != nil || err2 != nil || !slices.EqualFunc(w, g, same) {
				return fmt.Errorf("Scan(%s, %d): %v %v, want %v %v", after.ID, limit, g, err2, w, err1)
			}
		}
	}
	for _, rc := range all {
		g, found, err := got.Get(ctx, rc.ID)
		if err != nil || !found || !same(g, rc) {
			return fmt.Errorf("Get %s: %+v %v %v, want %+v", rc.ID, g, found, err, rc)
		}
	}
	grantIDs := map[revoke.ID]bool{}
	for _, n := range []string{"a", "b", "c", "d"} {
		grantIDs[revoke.TokenID(n)] = true
	}
	for g := range grantIDs {
		collect := func(tx revoke.Tx) ([]revoke.ID, error) {
			var ids []revoke.ID
			err := tx.Grant(ctx, g, func(r revoke.Record) error { ids = append(ids, r.ID); return nil })
			slices.SortFunc(ids, func(a, b revoke.ID) int { return slices.Compare(a[:], b[:]) })
			return ids, err
		}
		w, err1 := collect(want)
		gg, err2 := collect(got)
		if err1 != nil || err2 != nil || !slices.Equal(w, gg) {
			return fmt.Errorf("Grant %s: %v %v, want %v %v", g, gg, err2, w, err1)
		}
	}
	for _, by := range []revoke.Owner{revoke.BySubject, revoke.ByClient} {
		for _, key := range []string{"s0", "s1", "s2", "c0", "c1", ""} {
			for _, limit := range []int{1, 2, 10} {
				grants := func(tx revoke.Tx, after revoke.ID) ([]revoke.ID, error) {
					var ids []revoke.ID
					err := tx.Grants(ctx, by, key, after, limit, func(g revoke.ID) error { ids = append(ids, g); return nil })
					return ids, err
				}
				w, err1 := grants(want, revoke.ID{})
				g, err2 := grants(got, revoke.ID{})
				if err1 != nil || err2 != nil || !slices.Equal(w, g) {
					return fmt.Errorf("Grants(%v, %q, %d): %v %v, want %v %v", by, key, limit, g, err2, w, err1)
				}
				if len(w) > 0 {
					w, _ = grants(want, w[0])
					g, err2 = grants(got, g[0])
					if err2 != nil || !slices.Equal(w, g) {
						return fmt.Errorf("Grants(%v, %q, after, %d): %v %v, want %v", by, key, limit, g, err2, w)
					}
				}
			}
		}
	}
	for _, since := range []uint64{0, 5, 10, 15} {
		revs := func(tx revoke.Tx) ([]revoke.Revocation, error) {
			var out []revoke.Revocation
			err := tx.RevokedSince(ctx, since, func(r revoke.Revocation) error { out = append(out, r); return nil })
			return out, err
		}
		w, err1 := revs(want)
		g, err2 := revs(got)
		// Equal Seqs (imported) come in no defined order: compare as sets,
		// and the Seqs in order.
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
		if err1 != nil || err2 != nil || !slices.Equal(seqs(w), seqs(g)) || !slices.EqualFunc(sorted(w), sorted(g), func(a, b revoke.Revocation) bool {
			return a.ID == b.ID && a.Seq == b.Seq && a.Check == b.Check && a.ExpiresAt.Equal(b.ExpiresAt)
		}) {
			return fmt.Errorf("RevokedSince(%d): %v %v, want %v %v", since, g, err2, w, err1)
		}
	}
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for h := range 5 {
		before := base.Add(time.Duration(h) * time.Hour)
		for _, limit := range []int{1, 3, 100} {
			exp := func(tx revoke.Tx) ([]revoke.ID, error) {
				var ids []revoke.ID
				err := tx.Expired(ctx, before, limit, func(r revoke.Record) error {
					if !r.ExpiresAt.Before(before) {
						return fmt.Errorf("Expired(%v) reported %s expiring %v", before, r.ID, r.ExpiresAt)
					}
					ids = append(ids, r.ID)
					return nil
				})
				return ids, err
			}
			w, err1 := exp(want)
			g, err2 := exp(got)
			if err1 != nil || err2 != nil || len(w) != len(g) || !distinct(g) {
				return fmt.Errorf("Expired(%v, %d): %v %v, want %d records %v", before, limit, g, err2, len(w), err1)
			}
		}
	}
	if write {
		a, err1 := want.NextSeq(ctx)
		b, err2 := got.NextSeq(ctx)
		if err1 != nil || err2 != nil || b < a {
			return fmt.Errorf("NextSeq: %d %v, want at least %d %v", b, err2, a, err1)
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
