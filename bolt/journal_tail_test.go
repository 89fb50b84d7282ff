package bolt

import (
	"os"
	"testing"
)

// TestJournalZeroTail: a crash can leave the end of the last segment
// zero-filled (a file system that extended the file before the data of an
// unacknowledged write reached it). The zeros read as a frame of length 0
// and checksum 0, which matches an empty payload: they are a torn tail
// like any other, dropped, not damage that refuses the store. A frame
// that fails its checksum followed by zeros alone is dropped too.
func TestJournalZeroTail(t *testing.T) {
	for _, c := range []struct {
		name string
		cut  func(offs []int) int // where the segment is cut before the zeros
	}{
		{"AfterFrames", func(offs []int) int { return -1 }},
		{"InTornFrame", func(offs []int) int { return offs[2] + frameHeader + 5 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, path, recs := journaled(t)
			img := crashImage(t, path)
			seg := segmentFiles(t, img)[0]
			b, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			kept := recs
			if cut := c.cut(frames(t, seg)); cut >= 0 {
				// The third frame's header and a part of its payload,
				// the rest zeros: its checksum fails.
				full := len(b)
				b = append(b[:cut], make([]byte, full-cut)...)
				kept = recs[:2]
			}
			b = append(b, make([]byte, 4096)...)
			if err := os.WriteFile(seg, b, 0o600); err != nil {
				t.Fatal(err)
			}
			want(t, reopen(t, img), kept...)
		})
	}
}
