package bolt

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/sdkauth/revocation/revoke"
)

// grow makes the file large enough, with free pages, that the small
// commits of a test need no new mapping: bbolt remaps only when its
// commit outgrows the map, and the remap waits for every read
// transaction, which the tests below hold open on purpose.
func grow(t *testing.T, s *Store) {
	t.Helper()
	var recs []revoke.Record
	for i := range 2000 {
		recs = append(recs, rec(fmt.Sprint("filler", i), fmt.Sprint("filler", i)))
	}
	put(t, s, recs...)
	if err := s.Checkpoint(bg); err != nil {
		t.Fatal(err)
	}
	ids := make([]revoke.ID, 0, len(recs))
	for _, r := range recs {
		ids = append(ids, r.ID)
	}
	if err := s.Update(bg, func(tx revoke.Tx) error { return tx.Delete(bg, ids) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(bg); err != nil {
		t.Fatal(err)
	}
}

// TestNextSeqAfterFrozenLayerApplied: an Update that started while a
// frozen layer was being applied reads the tree as it was before the
// application; when the layer is dropped meanwhile, NextSeq must still
// count its sequence numbers.
func TestNextSeqAfterFrozenLayerApplied(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var armed atomic.Bool
	hook := func() error {
		if armed.CompareAndSwap(true, false) {
			close(entered)
			<-release
		}
		return nil
	}
	onApply(t, hook)
	s, err := Open(filepath.Join(t.TempDir(), "revocation.db"), never)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	grow(t, s)
	a := rec("a", "a")
	a.Seq = 10
	put(t, s, a)
	armed.Store(true)
	checkpoint := make(chan error, 1)
	go func() { checkpoint <- s.Checkpoint(bg) }()
	<-entered // a's layer is frozen, its application under way
	var got uint64
	err = s.Update(bg, func(tx revoke.Tx) error {
		_, _, room := s.ov.size()
		close(release)
		<-room // the frozen layer is in the tree, and dropped
		var err error
		got, err = tx.NextSeq(bg)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-checkpoint; err != nil {
		t.Fatal(err)
	}
	if got <= a.Seq {
		t.Errorf("NextSeq = %d, want above %d, the Seq of a committed record", got, a.Seq)
	}
}

// TestNextSeqOnlyCommitSurvives: a commit that only took a sequence number
// raises the counter durably, as a commit to the tree does: after Close
// and Open, NextSeq hands out a greater number.
func TestNextSeqOnlyCommitSurvives(t *testing.T) {
	path := filepath.Join(t.TempDir(), "revocation.db")
	for _, apply := range []string{"Close", "Checkpoint", "Crash"} {
		s := openNever(t, path)
		first := nextSeq(t, s)
		switch apply {
		case "Crash": // replayed from the journal by the next Open
			img := crashImage(t, path)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			path = img
			s = openNever(t, path)
		case "Checkpoint":
			if err := s.Checkpoint(bg); err != nil {
				t.Fatal(err)
			}
			if segs := segmentFiles(t, path); len(segs) != 0 {
				t.Errorf("after Checkpoint: journal %v, want none", segs)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s = openNever(t, path)
		if second := nextSeq(t, s); second <= first {
			t.Errorf("%s: NextSeq after reopening = %d, want above %d", apply, second, first)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// openNever opens the store at path with never.
func openNever(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, never)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// nextSeq commits a transaction that takes a sequence number, and returns
// it.
func nextSeq(t *testing.T, s *Store) uint64 {
	t.Helper()
	var n uint64
	if err := s.Update(bg, func(tx revoke.Tx) error {
		var err error
		n, err = tx.NextSeq(bg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
