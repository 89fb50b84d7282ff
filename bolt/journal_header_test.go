package bolt

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"

	bbolt "go.etcd.io/bbolt"
)

// TestJournalHalfCreatedSegment: a crash while a segment was created,
// before any commit went to it, leaves its file under its temporary name,
// holding a part of its header or zeros: Open ignores it, replays the
// segments, and removes it; a read-only Open leaves it.
func TestJournalHalfCreatedSegment(t *testing.T) {
	header := func() []byte {
		_, path, _ := journaled(t)
		b, err := os.ReadFile(segmentFiles(t, path)[0])
		if err != nil {
			t.Fatal(err)
		}
		return b[:journalHeader]
	}()
	for _, c := range []struct {
		name string
		b    []byte
	}{
		{"Empty", nil},
		{"InMagic", header[:5]},
		{"InSalt", header[:saltOffset+3]},
		{"Whole", header},
		{"Zeros", make([]byte, journalHeader)},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, path, recs := journaled(t)
			img := crashImage(t, path)
			tmp := newSegmentPath(journalPrefix(img, DefaultBucket))
			if err := os.WriteFile(tmp, c.b, 0o600); err != nil {
				t.Fatal(err)
			}
			ro, err := Open(img, WithReadOnly())
			if err != nil {
				t.Fatalf("read-only Open: %v", err)
			}
			want(t, ro, recs...)
			if err := ro.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(tmp); err != nil {
				t.Errorf("after a read-only Open: %v", err)
			}
			s := reopen(t, img)
			want(t, s, recs...)
			if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("after Open: the half-created segment: %v", err)
			}
			put(t, s, rec("d", "d"))
			if left := segmentFiles(t, img); len(left) != 1 {
				t.Errorf("after Open and a commit: %v, want the new segment alone", left)
			}
		})
	}
}

// TestJournalMissingSegment: a gap in the numbers of the segments is a
// segment lost, with the commits it held: revoke.ErrCorrupt, naming it.
func TestJournalMissingSegment(t *testing.T) {
	img := twoSegments(t)
	prefix := journalPrefix(img, DefaultBucket)
	if err := os.Rename(segmentPath(prefix, 2), segmentPath(prefix, 3)); err != nil {
		t.Fatal(err)
	}
	if err := openRefused(t, img); !strings.Contains(err.Error(), segmentPath(prefix, 2)) {
		t.Errorf("Open: %v, want it to name %s", err, segmentPath(prefix, 2))
	}
}

// TestJournalHeaderDamage: a segment whose header is damaged or cut is
// revoke.ErrCorrupt, and Open leaves the files as they are.
func TestJournalHeaderDamage(t *testing.T) {
	for _, c := range []struct {
		name   string
		seg    int // which of the two segments
		damage func(b []byte) []byte
	}{
		{"Magic", 1, func(b []byte) []byte { b[2] ^= 1; return b }},
		{"Salt", 1, func(b []byte) []byte { b[saltOffset] ^= 1; return b }},
		{"BothSlots", 1, func(b []byte) []byte { b[slotsOffset+3] ^= 1; b[slotsOffset+slotLen+3] ^= 1; return b }},
		{"CutInEarlierSegment", 0, func(b []byte) []byte { return b[:journalHeader-1] }},
		{"ZerosInEarlierSegment", 0, func(b []byte) []byte { return make([]byte, journalHeader) }},
		// A segment has its whole header from its creation on: the last
		// one cut within it, or empty, lost its commits.
		{"CutInLastSegment", 1, func(b []byte) []byte { return b[:saltOffset+3] }},
		{"CutInLastSegmentMagic", 1, func(b []byte) []byte { return b[:5] }},
		{"LastSegmentEmpty", 1, func(b []byte) []byte { return nil }},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := twoSegments(t)
			seg := segmentFiles(t, img)[c.seg]
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(seg, c.damage(b), 0o600); err != nil {
				t.Fatal(err)
			}
			openRefused(t, img)
		})
	}
}

// TestJournalVersion1Refused: a segment of the journal's first format,
// whose frame lengths no checksum covers, is refused with revoke.ErrVersion and
// left as it is, not replayed.
func TestJournalVersion1Refused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "revocation.db")
	reopenClose(t, path)
	w := newWriteSet()
	r := rec("a", "a")
	w.set(r.ID, change{rec: r})
	frame, err := encodeFrame(nil, w, 0)
	if err != nil {
		t.Fatal(err)
	}
	payload := frame[frameHeader:]
	b := binary.BigEndian.AppendUint32([]byte(journalMagic), 1)
	b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(payload, castagnoli))
	b = append(b, payload...)
	if err := os.WriteFile(segmentPath(journalPrefix(path, DefaultBucket), 1), b, 0o600); err != nil {
		t.Fatal(err)
	}
	before := fileSums(t, path)
	s, err := Open(path)
	if err == nil {
		_ = s.Close()
		t.Fatal("Open of a version 1 journal succeeded")
	}
	if !errors.Is(err, revoke.ErrVersion) {
		t.Errorf("Open: %v, want revoke.ErrVersion", err)
	}
	if after := fileSums(t, path); !slices.Equal(before, after) {
		t.Errorf("Open changed the files: %v, then %v", before, after)
	}
}

// reopenClose opens and closes the store at path, creating it.
func reopenClose(t *testing.T, path string) {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestJournalDamageLeavesOlderFormat: a store of format version 4 whose
// journal Open refuses is left as it is too: not upgraded to
// FormatVersion, which would lock the package that wrote it out of it.
func TestJournalDamageLeavesOlderFormat(t *testing.T) {
	img := twoSegments(t)
	db, err := bbolt.Open(img, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte(DefaultBucket)).Bucket(bucketMeta).Put(keyVersion, binary.BigEndian.AppendUint32(nil, 4))
	})
	if err := errors.Join(err, db.Close()); err != nil {
		t.Fatal(err)
	}
	seg := segmentFiles(t, img)[1]
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	b[2] ^= 1 // the magic
	if err := os.WriteFile(seg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	openRefused(t, img)
}
