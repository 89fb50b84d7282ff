package bolt

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// revokerStore opens a store that applies nothing to its tree before it is
// closed, and, through a Revoker over it, issues twelve grants of a
// refresh token and two access tokens, one commit per token, and revokes
// every odd grant as soon as it is issued, one commit per grant: some 40
// frames in one segment, revocations all through it. It returns the
// store's path, the Revoker (closed at the end of the test) and the raw
// tokens revoked and live.
func revokerStore(t *testing.T) (path string, r *revoke.Revoker, revoked, live []string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "revocation.db")
	s, err := Open(path, never)
	if err != nil {
		t.Fatal(err)
	}
	r, err = revoke.New(s)
	if err != nil {
		_ = s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	exp := time.Now().Add(time.Hour)
	for g := range 12 {
		refresh := fmt.Sprint("refresh-", g)
		toks := []string{refresh}
		issue(t, r, revoke.Token{Value: refresh, Kind: revoke.Refresh, ClientID: "client", Subject: fmt.Sprint("user-", g), ExpiresAt: exp})
		for a := range 2 {
			access := fmt.Sprintf("access-%d-%d", g, a)
			toks = append(toks, access)
			issue(t, r, revoke.Token{Value: access, Kind: revoke.Access, ClientID: "client", Parent: refresh, ExpiresAt: exp})
		}
		if g%2 == 0 {
			live = append(live, toks...)
			continue
		}
		if n, err := r.Revoke(bg, refresh, "client"); err != nil || n != len(toks) {
			t.Fatalf("Revoke %s: %d, %v; want %d", refresh, n, err, len(toks))
		}
		revoked = append(revoked, toks...)
	}
	return path, r, revoked, live
}

func issue(t *testing.T, r *revoke.Revoker, tok revoke.Token) {
	t.Helper()
	if err := r.Issue(bg, tok); err != nil {
		t.Fatalf("Issue %s: %v", tok.Value, err)
	}
}

// onlySegment returns the one journal segment of the crash image at img
// and the offsets of its frames.
func onlySegment(t *testing.T, img string) (string, []int) {
	t.Helper()
	segs := segmentFiles(t, img)
	if len(segs) != 1 {
		t.Fatalf("%d journal segments, want 1", len(segs))
	}
	offs := frames(t, segs[0])
	if len(offs) < 40 {
		t.Fatalf("%d frames, want at least 40", len(offs))
	}
	return segs[0], offs
}

// refused checks that Open of img fails with revoke.ErrCorrupt naming seg and the
// offset off, and leaves every file as it was.
func refused(t *testing.T, img, seg string, off int) {
	t.Helper()
	err := openRefused(t, img)
	if msg := err.Error(); !strings.Contains(msg, seg) || !strings.Contains(msg, fmt.Sprintf("offset %d:", off)) {
		t.Errorf("Open: %q, want it to name %s and offset %d", msg, seg, off)
	}
}

// openRefused checks that Open of img fails with an error wrapping
// revoke.ErrCorrupt and leaves every file as it was, and returns the error.
func openRefused(t *testing.T, img string) error {
	t.Helper()
	before := fileSums(t, img)
	s, err := Open(img)
	if err == nil {
		_ = s.Close()
		t.Fatal("Open succeeded")
	}
	if !errors.Is(err, revoke.ErrCorrupt) {
		t.Errorf("Open: %v, want revoke.ErrCorrupt", err)
	}
	if after := fileSums(t, img); !slices.Equal(before, after) {
		t.Errorf("Open changed the files: %v, then %v", before, after)
	}
	return err
}

// frameAround returns the offset of the frame of offs that holds byte x.
func frameAround(offs []int, x int) int {
	i, found := slices.BinarySearch(offs, x)
	if found {
		return offs[i]
	}
	return offs[i-1]
}

// TestJournalDamageInAcknowledgedExtent: damage to the only segment of the
// journal before its last acknowledged commits, after a crash, refuses the
// store with revoke.ErrCorrupt, names the segment and the offset, and deletes
// nothing, rather than dropping the acknowledged commits that follow it
// (revocations lost, revoked tokens live again).
func TestJournalDamageInAcknowledgedExtent(t *testing.T) {
	for _, c := range []struct {
		name string
		// damage damages the segment b and returns the offset of the
		// frame Open must name.
		damage func(b []byte, offs []int) ([]byte, int)
	}{
		{"LengthByteXORed", func(b []byte, offs []int) ([]byte, int) {
			mid := offs[len(offs)/2]
			b[mid+2] ^= 0x01
			return b, mid
		}},
		{"LengthHighByteXORed", func(b []byte, offs []int) ([]byte, int) {
			mid := offs[len(offs)/2]
			b[mid] ^= 0x80
			return b, mid
		}},
		{"TruncatedMidway", func(b []byte, offs []int) ([]byte, int) {
			cut := len(b) / 2
			return b[:cut], frameAround(offs, cut)
		}},
		{"TruncatedAtFrame", func(b []byte, offs []int) ([]byte, int) {
			mid := offs[len(offs)/2]
			return b[:mid], mid
		}},
		{"SecondHalfZeroed", func(b []byte, offs []int) ([]byte, int) {
			half := len(b) / 2
			clear(b[half:])
			return b, frameAround(offs, half)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, _, _, _ := revokerStore(t)
			img := crashImage(t, path)
			seg, offs := onlySegment(t, img)
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			b, off := c.damage(b, offs)
			if err := os.WriteFile(seg, b, 0o600); err != nil {
				t.Fatal(err)
			}
			refused(t, img, seg, off)
		})
	}
}

// TestJournalTornTailKeepsAcknowledged: a crash while the last commit was
// being written leaves a part of its frame at the end of the only segment
// (perhaps with zeros after it): Open drops that commit, which was never
// acknowledged, replays every acknowledged one and removes the segment.
func TestJournalTornTailKeepsAcknowledged(t *testing.T) {
	for _, c := range []struct {
		name string
		tear func(b []byte, last int) []byte
	}{
		{"InHeader", func(b []byte, last int) []byte { return b[:last+5] }},
		{"InPayload", func(b []byte, last int) []byte { return b[:last+frameHeader+3] }},
		{"AllButOneByte", func(b []byte, last int) []byte { return b[:len(b)-1] }},
		{"ZerosAfterPart", func(b []byte, last int) []byte {
			clear(b[last+frameHeader+3:])
			return append(b, make([]byte, 4096)...)
		}},
		{"ZeroFrame", func(b []byte, last int) []byte {
			clear(b[last:])
			return b
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, r, revoked, live := revokerStore(t)
			// The commit the crash tears: the revocation of grant 0.
			if n, err := r.Revoke(bg, "refresh-0", "client"); err != nil || n != 3 {
				t.Fatalf("Revoke refresh-0: %d, %v", n, err)
			}
			img := crashImage(t, path)
			seg, offs := onlySegment(t, img)
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(seg, c.tear(b, offs[len(offs)-1]), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(img)
			if err != nil {
				t.Fatalf("Open of a journal with a torn tail: %v", err)
			}
			r2, err := revoke.New(s)
			if err != nil {
				_ = s.Close()
				t.Fatal(err)
			}
			defer r2.Close()
			wantRevoked(t, r2, revoked, live)
			if left := segmentFiles(t, img); len(left) != 0 {
				t.Errorf("after Open: %v, want the journal replayed and removed", left)
			}
		})
	}
}

// wantRevoked checks that r reports the tokens revoked as revoked and the
// tokens live as live.
func wantRevoked(t *testing.T, r *revoke.Revoker, revoked, live []string) {
	t.Helper()
	for _, tok := range revoked {
		if ok, err := r.IsRevoked(bg, tok); !ok || err != nil {
			t.Errorf("IsRevoked %s: %v, %v; an acknowledged revocation was lost", tok, ok, err)
		}
	}
	for _, tok := range live {
		if ok, err := r.IsRevoked(bg, tok); ok || err != nil {
			t.Errorf("IsRevoked %s: %v, %v; want it live", tok, ok, err)
		}
	}
}

// TestJournalDamageBeforeValidFrame: a frame that fails its check is
// damage, not a torn tail, when a valid frame of the segment follows it,
// even past the acknowledged extent the segment's header records (here
// that of an earlier commit, as a header whose last updates were lost
// would hold).
func TestJournalDamageBeforeValidFrame(t *testing.T) {
	path, r, _, _ := revokerStore(t)
	seg := segmentFiles(t, path)[0]
	old, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"refresh-0", "refresh-2", "refresh-4"} {
		if _, err := r.Revoke(bg, tok, "client"); err != nil {
			t.Fatal(err)
		}
	}
	img := crashImage(t, path)
	seg, offs := onlySegment(t, img)
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	copy(b, old[:journalHeader])
	bad := offs[len(offs)-2]
	b[bad+1] ^= 0x10
	if err := os.WriteFile(seg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	refused(t, img, seg, bad)
}

// TestJournalForgedFrameInTornTail: a commit's payload can hold the bytes
// of a frame (a client or subject is the caller's string). When that commit is torn,
// the frame in its bytes does not pass for a valid frame that would make
// the torn tail damage: a frame header's checksum covers its segment's
// random salt, which a frame written for another segment lacks.
func TestJournalForgedFrameInTornTail(t *testing.T) {
	_, otherPath, _ := journaled(t)
	other := segmentFiles(t, otherPath)[0]
	ob, err := os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	offs := frames(t, other)
	forged := ob[offs[0]:offs[1]]

	s, path, recs := journaled(t)
	d := rec("d", "d")
	d.ClientID = string(forged) // the subject follows it
	put(t, s, d)
	img := crashImage(t, path)
	seg := segmentFiles(t, img)[0]
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seg, b[:len(b)-1], 0o600); err != nil {
		t.Fatal(err)
	}
	want(t, reopen(t, img), recs...)
}
