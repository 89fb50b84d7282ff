package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/store/storetest"
)

// TestConformanceTinyBatches runs the suite with the applier running after
// every other change, so that transactions read the tree, a frozen layer
// and the active one together.
func TestConformanceTinyBatches(t *testing.T) {
	runConformance(t, withApply(2, time.Millisecond))
}

// TestConformanceJournalOnly runs the suite with nothing applied to the
// tree until Close: every transaction reads the journal's layer over an
// empty or reopened tree.
func TestConformanceJournalOnly(t *testing.T) {
	runConformance(t, never)
}

// runConformance runs the suite over stores from Open with opts, each
// reopened from its file for the suite's second store (refused: the file is
// locked, which a short timeout says soon).
func runConformance(t *testing.T, opts ...Option) {
	var paths sync.Map // *Store -> its file
	storetest.Run(t, func(t *testing.T) revoke.Store {
		path := filepath.Join(t.TempDir(), "revocation.db")
		s, err := Open(path, opts...)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		paths.Store(s, path)
		return s
	}, storetest.WithReopen(func(t *testing.T, s revoke.Store) (revoke.Store, error) {
		path, _ := paths.Load(s)
		return Open(path.(string), append(opts, WithTimeout(50*time.Millisecond))...)
	}))
}

func TestCrashTinyBatches(t *testing.T) {
	storetest.RunCrash(t, func(path string) (revoke.Store, error) {
		return Open(path, withApply(16, time.Millisecond))
	}, 10)
}

var bg = context.Background()

func rec(name string, grant string) revoke.Record {
	r := revoke.Record{
		ID: revoke.TokenID(name), Kind: revoke.Refresh, ClientID: "client", Subject: "subject-" + grant,
		ExpiresAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	r.Grant = revoke.TokenID(grant)
	if r.Grant != r.ID {
		r.Kind, r.Parent = revoke.Access, r.Grant
	}
	return r
}

func put(t *testing.T, s *Store, recs ...revoke.Record) {
	t.Helper()
	if err := s.Update(bg, func(tx revoke.Tx) error { return tx.Put(bg, recs) }); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// getOne returns the record of id that tx holds.
func getOne(tx revoke.Tx, id revoke.ID) (revoke.Record, bool, error) {
	recs, err := tx.Get(bg, []revoke.ID{id})
	if err != nil || len(recs) == 0 {
		return revoke.Record{}, false, err
	}
	return recs[0], true, nil
}

// reopen opens the Store at path, to be closed at the end of the test.
func reopen(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// want checks that s holds exactly the records recs, by Get, Scan, the
// grants' members and GrantsOf.
func want(t *testing.T, s *Store, recs ...revoke.Record) {
	t.Helper()
	err := s.View(bg, func(tx revoke.Tx) error {
		scanned, err := tx.Scan(bg, revoke.ID{}, 1<<20)
		if err != nil {
			return err
		}
		if len(scanned) != len(recs) {
			return fmt.Errorf("Scan: %d records, want %d", len(scanned), len(recs))
		}
		for _, r := range recs {
			if err := wantOne(tx, r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// wantOne checks that tx holds r, by Get, its grant's members and GrantsOf.
func wantOne(tx revoke.Tx, r revoke.Record) error {
	got, found, err := getOne(tx, r.ID)
	if err != nil || !found || !same(got, r) {
		return fmt.Errorf("Get %s: %+v %v %v, want %+v", r.ID, got, found, err, r)
	}
	ms, err := members(tx, r.Grant)
	if n := len(slices.DeleteFunc(ms, func(m revoke.Record) bool { return m.ID != r.ID })); err != nil || n != 1 {
		return fmt.Errorf("members of %s: found it %d times, %v", r.Grant, n, err)
	}
	grants, err := tx.GrantsOf(bg, revoke.BySubject, r.Subject, revoke.ID{}, 10)
	if err != nil || !slices.Equal(grants, []revoke.ID{r.Grant}) {
		return fmt.Errorf("GrantsOf %s: %v, %v", r.Subject, grants, err)
	}
	return nil
}

// same reports whether a and b hold the same values.
func same(a, b revoke.Record) bool {
	if !a.ExpiresAt.Equal(b.ExpiresAt) || !a.RotatedAt.Equal(b.RotatedAt) {
		return false
	}
	a.ExpiresAt, a.RotatedAt = b.ExpiresAt, b.RotatedAt
	return a == b
}

// crashImage returns the path of a copy of the database and its journal
// segments taken while s, opened with never, was running after its
// Updates: what a crash at that point leaves.
func crashImage(t *testing.T, path string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "revocation.db")
	for _, p := range append([]string{path}, segmentFiles(t, path)...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst+p[len(path):], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func segmentFiles(t *testing.T, path string) []string {
	t.Helper()
	prefix := journalPrefix(path, DefaultBucket)
	ns, err := segments(prefix)
	if err != nil {
		t.Fatal(err)
	}
	var ps []string
	for _, n := range ns {
		ps = append(ps, segmentPath(prefix, n))
	}
	return ps
}

// journaled opens a store that applies nothing before Close, writes a, b
// and c in three commits and returns it with its path and the records.
func journaled(t *testing.T) (*Store, string, []revoke.Record) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "revocation.db")
	s, err := Open(path, never)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	recs := []revoke.Record{rec("a", "a"), rec("b", "a"), rec("c", "c")}
	for _, r := range recs {
		put(t, s, r)
	}
	return s, path, recs
}

// frames returns the offsets of the frames of the segment at path.
func frames(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var offs []int
	for off := journalHeader; off < len(b); off += frameHeader + int(binary.BigEndian.Uint32(b[off:])) {
		offs = append(offs, off)
	}
	return offs
}

func TestJournalTornLastFrame(t *testing.T) {
	_, path, recs := journaled(t)
	img := crashImage(t, path)
	seg := segmentFiles(t, img)
	if len(seg) != 1 {
		t.Fatalf("%d segments, want 1", len(seg))
	}
	offs := frames(t, seg[0])
	if len(offs) != 3 {
		t.Fatalf("%d frames, want 3", len(offs))
	}
	if err := os.Truncate(seg[0], int64(offs[2]+frameHeader+3)); err != nil {
		t.Fatal(err)
	}
	s := reopen(t, img)
	want(t, s, recs[:2]...)
	if left := segmentFiles(t, img); len(left) != 0 {
		t.Errorf("after Open: %v, want the journal replayed and removed", left)
	}
}

func TestJournalBadChecksumLastFrame(t *testing.T) {
	_, path, recs := journaled(t)
	img := crashImage(t, path)
	seg := segmentFiles(t, img)[0]
	b, _ := os.ReadFile(seg)
	b[frames(t, seg)[2]+frameHeader+1] ^= 0x40
	if err := os.WriteFile(seg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s := reopen(t, img)
	want(t, s, recs[:2]...)
}

// TestJournalBadFrameNotLast: a bad frame followed by more of the journal
// may hide acknowledged commits: Open refuses the store, and leaves it.
func TestJournalBadFrameNotLast(t *testing.T) {
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, segs []string)
	}{
		{"ChecksumInEarlierSegment", func(t *testing.T, segs []string) {
			b, _ := os.ReadFile(segs[0])
			b[len(b)-1] ^= 1
			_ = os.WriteFile(segs[0], b, 0o600)
		}},
		{"TornEarlierSegment", func(t *testing.T, segs []string) {
			fi, _ := os.Stat(segs[0])
			_ = os.Truncate(segs[0], fi.Size()-2)
		}},
		{"EarlierSegmentCutAtFrame", func(t *testing.T, segs []string) {
			offs := frames(t, segs[0])
			_ = os.Truncate(segs[0], int64(offs[len(offs)-1]))
		}},
		{"ChecksumMidSegment", func(t *testing.T, segs []string) {
			b, _ := os.ReadFile(segs[1])
			b[frames(t, segs[1])[0]+frameHeader] ^= 1
			_ = os.WriteFile(segs[1], b, 0o600)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := twoSegments(t)
			segs := segmentFiles(t, img)
			c.damage(t, segs)
			openRefused(t, img)
		})
	}
	t.Run("Intact", func(t *testing.T) {
		img := twoSegments(t)
		s, err := Open(img)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		b := rec("b", "a")
		b.Seq = 7
		want(t, s, rec("a", "a"), b, rec("c", "c"), rec("d", "c"))
	})
}

// twoSegments returns a crash image with two segments: a, b, c in the
// first, then b revoked, c deleted and re-put, d in the second, two
// commits each.
func twoSegments(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "revocation.db")
	s, err := Open(path, never)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put(t, s, rec("a", "a"), rec("b", "a"))
	put(t, s, rec("c", "c"))
	// Switch to segment 2 without applying: an application that failed.
	s.jr.wmu.Lock()
	old := s.jr.w
	s.jr.w, s.jr.n = nil, s.jr.n+1
	s.jr.wmu.Unlock()
	_ = old.seal()
	b := rec("b", "a")
	b.Seq = 7
	put(t, s, b)
	if err := s.Update(bg, func(tx revoke.Tx) error {
		return errors.Join(tx.Delete(bg, []revoke.ID{revoke.TokenID("c")}), tx.Put(bg, []revoke.Record{rec("c", "c")}), tx.Put(bg, []revoke.Record{rec("d", "c")}))
	}); err != nil {
		t.Fatal(err)
	}
	img := crashImage(t, path)
	if n := len(segmentFiles(t, img)); n != 2 {
		t.Fatalf("%d segments, want 2", n)
	}
	return img
}

func fileSums(t *testing.T, path string) []string {
	t.Helper()
	var out []string
	for _, p := range append([]string{path}, segmentFiles(t, path)...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s:%d:%x", filepath.Base(p), len(b), revoke.TokenID(string(b))))
	}
	return out
}

// TestJournalReplayedTwice: a crash after the tree's commit and before the
// segment's deletion replays the segment over a tree that holds it.
func TestJournalReplayedTwice(t *testing.T) {
	s, path, _ := journaled(t)
	// Delete b and put it again in grant c, delete a, revoke c: the tree
	// must end as the journal says, however many times it is applied.
	b, c := rec("b", "c"), rec("c", "c")
	b.Subject = c.Subject
	c.Seq = 3
	if err := s.Update(bg, func(tx revoke.Tx) error {
		return errors.Join(tx.Delete(bg, []revoke.ID{b.ID}), tx.Put(bg, []revoke.Record{b}), tx.Delete(bg, []revoke.ID{revoke.TokenID("a")}), tx.Put(bg, []revoke.Record{c}))
	}); err != nil {
		t.Fatal(err)
	}
	seg := segmentFiles(t, path)[0]
	saved, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Checkpoint(bg); err != nil {
		t.Fatalf("Checkpoint: %v", err)
	}
	img := crashImage(t, path)
	if err := os.WriteFile(img+seg[len(path):], saved, 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s2, err := Open(img)
		if err != nil {
			t.Fatal(err)
		}
		want(t, s2, b, c)
		var revs []revoke.Revocation
		if err := s2.View(bg, func(tx revoke.Tx) error {
			return tx.RevokedSince(bg, 0, func(r revoke.Revocation) error { revs = append(revs, r); return nil })
		}); err != nil || len(revs) != 1 || revs[0] != c.Revocation() {
			t.Errorf("RevokedSince: %v, %v; want c's", revs, err)
		}
		if err := s2.Close(); err != nil {
			t.Fatal(err)
		}
		_ = os.WriteFile(img+seg[len(path):], saved, 0o600) // and again
	}
}

func TestJournalReadOnly(t *testing.T) {
	_, path, recs := journaled(t)
	img := crashImage(t, path)
	before := fileSums(t, img)
	s, err := Open(img, WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	want(t, s, recs...)
	if err := s.Checkpoint(bg); !errors.Is(err, revoke.ErrReadOnly) {
		t.Errorf("Checkpoint: %v, want revoke.ErrReadOnly", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if after := fileSums(t, img); !slices.Equal(before, after) {
		t.Errorf("a read-only Open changed the files: %v, then %v", before, after)
	}
}

// failure is a hook of the journal (see onSyncFile, onApply) that fails
// while on.
type failure struct {
	what string
	on   atomic.Bool
}

func (f *failure) hook() error {
	if f.on.Load() {
		return fmt.Errorf("injected %s failure", f.what)
	}
	return nil
}

// TestJournalSyncFailure: a commit whose write or sync fails is not
// acknowledged, and the store refuses Updates until reopened; what was
// acknowledged before survives.
func TestJournalSyncFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "revocation.db")
	fsync := failure{what: "sync"}
	onSyncFile(t, fsync.hook)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := rec("a", "a"), rec("b", "b"), rec("c", "c")
	put(t, s, a)
	fsync.on.Store(true)
	if err := s.Update(bg, func(tx revoke.Tx) error { return tx.Put(bg, []revoke.Record{b}) }); err == nil {
		t.Fatal("Update with a failing sync succeeded")
	}
	fsync.on.Store(false)
	if err := s.Update(bg, func(tx revoke.Tx) error { return tx.Put(bg, []revoke.Record{c}) }); err == nil {
		t.Error("Update after a failed sync succeeded")
	}
	want(t, s, a)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want(t, s, a)
	put(t, s, c)
}

// TestJournalApplyFailure: an application that fails makes the following
// Updates fail, and loses nothing acknowledged.
func TestJournalApplyFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "revocation.db")
	apply := failure{what: "apply"}
	apply.on.Store(true)
	onApply(t, apply.hook)
	s, err := Open(path, never)
	if err != nil {
		t.Fatal(err)
	}
	a, b := rec("a", "a"), rec("b", "b")
	put(t, s, a)
	if err := s.Checkpoint(bg); err == nil {
		t.Fatal("Checkpoint with a failing application succeeded")
	}
	if err := s.Update(bg, func(tx revoke.Tx) error { return tx.Put(bg, []revoke.Record{b}) }); err == nil {
		t.Error("Update after a failed application succeeded")
	}
	want(t, s, a)
	// Close tries again: it fails too, and leaves the journal.
	if err := s.Close(); err == nil {
		t.Error("Close with a failing application succeeded")
	}
	if len(segmentFiles(t, path)) == 0 {
		t.Error("the journal is gone though it was never applied")
	}
	apply.on.Store(false)
	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want(t, s, a)
}

// TestJournalBoundsMemory: while the applier is stuck, Updates wait once
// the journal holds four batches, and go on when it catches up.
func TestJournalBoundsMemory(t *testing.T) {
	release := make(chan struct{})
	var once, unblock sync.Once
	hook := func() error {
		once.Do(func() { <-release })
		return nil
	}
	path := filepath.Join(t.TempDir(), "revocation.db")
	onApply(t, hook)
	s, err := Open(path, withApply(1, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defer unblock.Do(func() { close(release) }) // before Close, if a check fails
	for i := range applyLimitFactor {
		put(t, s, rec(fmt.Sprint("r", i), fmt.Sprint("r", i)))
	}
	c, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	err = s.Update(c, func(tx revoke.Tx) error { return tx.Put(bg, []revoke.Record{rec("late", "late")}) })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Update with the applier stuck four batches behind: %v, want it to wait until its context expires", err)
	}
	unblock.Do(func() { close(release) })
	put(t, s, rec("late", "late"))
}

// shadowed checks that the revocations of tx are b2's and c2's, and that
// its indexes hold no trace of d, deleted.
func shadowed(tx revoke.Tx, b2, c2, d revoke.Record) error {
	var revs []revoke.Revocation
	if err := tx.RevokedSince(bg, 0, func(r revoke.Revocation) error { revs = append(revs, r); return nil }); err != nil {
		return err
	}
	if !slices.Equal(revs, []revoke.Revocation{b2.Revocation(), c2.Revocation()}) {
		return fmt.Errorf("RevokedSince: %v", revs)
	}
	expired, err := tx.Expired(bg, time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), 10)
	if err != nil {
		return err
	}
	if len(expired) != 4 || slices.Contains(expired, d.ID) {
		return fmt.Errorf("Expired: %d records %v", len(expired), expired)
	}
	grants, err := tx.GrantsOf(bg, revoke.BySubject, d.Subject, revoke.ID{}, 10)
	if err != nil || len(grants) != 0 {
		return fmt.Errorf("GrantsOf a deleted record's subject: %v, %v", grants, err)
	}
	return nil
}

// TestJournalShadowsTree: records the tree holds and the journal's layer
// changed (deleted and put again in another grant, revoked, deleted) are
// reported as the layer has them, once, by every iteration.
func TestJournalShadowsTree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "revocation.db")
	s, err := Open(path, never)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, b, c, d := rec("a", "a"), rec("b", "a"), rec("c", "c"), rec("d", "d")
	put(t, s, a, b, c, d)
	if err := s.Checkpoint(bg); err != nil {
		t.Fatal(err)
	}
	b2, c2, e := rec("b", "c"), rec("c", "c"), rec("e", "e")
	b2.Seq, c2.Seq = 5, 6
	if err := s.Update(bg, func(tx revoke.Tx) error {
		return errors.Join(tx.Delete(bg, []revoke.ID{b2.ID, d.ID}), tx.Put(bg, []revoke.Record{b2, c2, e}))
	}); err != nil {
		t.Fatal(err)
	}
	for _, view := range []string{"journal over the tree", "tree alone"} {
		want(t, s, a, b2, c2, e)
		err := s.View(bg, func(tx revoke.Tx) error { return shadowed(tx, b2, c2, d) })
		if err != nil {
			t.Errorf("%s: %v", view, err)
		}
		if err := s.Checkpoint(bg); err != nil {
			t.Fatal(err)
		}
	}
}

// TestJournalFailureUnavailable: the Update whose journal write or sync
// fails cannot know whether its frame reached the disk (a crash may replay
// it), and the later ones are refused until the store is reopened: their
// errors wrap revoke.ErrUnavailable, so that a Revoker fails the writes
// without running them again and its handler answers 503.
func TestJournalFailureUnavailable(t *testing.T) {
	t.Run("Sync", func(t *testing.T) {
		fsync := failure{what: "sync"}
		onSyncFile(t, fsync.hook)
		s, err := Open(filepath.Join(t.TempDir(), "revocation.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		put(t, s, rec("a", "a"))
		fsync.on.Store(true)
		for _, name := range []string{"b", "c"} {
			err := s.Update(bg, func(tx revoke.Tx) error { return tx.Put(bg, []revoke.Record{rec(name, name)}) })
			if !errors.Is(err, revoke.ErrUnavailable) {
				t.Errorf("Update of %s with a failing sync: %v, want an error wrapping revoke.ErrUnavailable", name, err)
			}
		}
	})
	t.Run("Apply", func(t *testing.T) {
		apply := failure{what: "apply"}
		apply.on.Store(true)
		onApply(t, apply.hook)
		s, err := Open(filepath.Join(t.TempDir(), "revocation.db"), never)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { apply.on.Store(false); _ = s.Close() }()
		put(t, s, rec("a", "a"))
		if err := s.Checkpoint(bg); err == nil {
			t.Fatal("Checkpoint with a failing application succeeded")
		}
		err = s.Update(bg, func(tx revoke.Tx) error { return tx.Put(bg, []revoke.Record{rec("b", "b")}) })
		if !errors.Is(err, revoke.ErrUnavailable) {
			t.Errorf("Update after a failed application: %v, want an error wrapping revoke.ErrUnavailable", err)
		}
	})
}
