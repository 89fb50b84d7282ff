package bolt

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
)

// segment is a journal segment read whole, to be replayed.
type segment struct {
	path   string
	b      []byte
	salt   uint32 // the checksum of its salt
	extent int    // the acknowledged extent its header records
}

// readJournal reads the segments numbered ns, ascending, of the journal
// at prefix, and returns their commits. Every segment is read, and
// checked, before any is replayed: a bad one, or a gap in the numbers (a
// segment lost: those between are deleted in order, after their commits
// reached the tree), refuses the store as it is.
func readJournal(prefix string, ns []uint64) ([][]*writeSet, error) {
	var commits [][]*writeSet
	for i, n := range ns {
		if i > 0 && n != ns[i-1]+1 {
			return nil, fmt.Errorf("%w: journal segment %s is missing, between segments %d and %d", errCorrupt, segmentPath(prefix, ns[i-1]+1), ns[i-1], n)
		}
		ws, err := readSegment(segmentPath(prefix, n), i == len(ns)-1)
		if err != nil {
			return nil, err
		}
		commits = append(commits, ws)
	}
	return commits, nil
}

// readSegment returns the commits of the segment at path, in order.
//
// Every frame that starts before the acknowledged extent the header
// records must be there and sound, and the frames must end at it: those
// commits were acknowledged. After it, in the last segment only, a frame
// that is torn or fails a checksum is the commit that was being written
// when the process stopped, never acknowledged, unless a valid frame
// follows it somewhere: readSegment stops there, dropping it and whatever
// follows (zeros, a part of the frame). A segment has its whole header
// from its creation (see createSegment). Anything else is revoke.ErrCorrupt,
// with the segment's path and the offset of the damage; readSegment
// changes no file.
func readSegment(path string, last bool) ([]*writeSet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sg := &segment{path: path, b: b}
	if err := sg.readHeader(); err != nil {
		return nil, err
	}
	return sg.commits(last)
}

// corrupt returns an error wrapping revoke.ErrCorrupt for damage at offset off.
func (sg *segment) corrupt(off int, format string, args ...any) error {
	return fmt.Errorf("%w: journal segment %s, offset %d: %s", errCorrupt, sg.path, off, fmt.Sprintf(format, args...))
}

// readHeader checks the segment's header and reads its salt and extent.
func (sg *segment) readHeader() error {
	b := sg.b
	if len(b) < saltOffset || string(b[:len(journalMagic)]) != journalMagic {
		return sg.corrupt(0, "not a journal segment's header")
	}
	if v := binary.BigEndian.Uint32(b[len(journalMagic):]); v != journalVersion {
		return fmt.Errorf("%w: journal segment %s has version %d (this package reads %d)", errVersion, sg.path, v, journalVersion)
	}
	if len(b) < journalHeader {
		return sg.corrupt(0, "a header of %d bytes", len(b))
	}
	sg.salt = saltSum(b[saltOffset : saltOffset+saltLen])
	sg.extent = -1
	for i := range 2 {
		off := slotsOffset + i*slotLen
		extent := binary.BigEndian.Uint64(b[off:])
		if binary.BigEndian.Uint32(b[off+8:]) == slotSum(sg.salt, i, extent) && extent >= journalHeader && extent <= 1<<62 {
			sg.extent = max(sg.extent, int(extent))
		}
	}
	if sg.extent < 0 {
		return sg.corrupt(slotsOffset, "both records of the acknowledged extent are damaged")
	}
	return nil
}

// commits decodes the segment's frames (see readSegment).
func (sg *segment) commits(last bool) ([]*writeSet, error) {
	var ws []*writeSet
	off := journalHeader
	for off < len(sg.b) {
		p, end, fault := sg.frameAt(off)
		if fault != "" {
			if err := sg.checkTail(off, fault, last); err != nil {
				return nil, err
			}
			break // the torn tail
		}
		if off < sg.extent && end > sg.extent {
			return nil, sg.corrupt(off, "a frame that ends at %d, past the acknowledged extent of %d bytes", end, sg.extent)
		}
		w, err := decodeFrame(p)
		if err != nil {
			return nil, sg.corrupt(off, "%v", err)
		}
		ws = append(ws, w)
		off = end
	}
	if off < sg.extent {
		return nil, sg.corrupt(off, "the segment ends there, short of its acknowledged extent of %d bytes", sg.extent)
	}
	return ws, nil
}

// checkTail returns nil when the bad frame at off, whose fault is fault,
// is a torn tail, and otherwise the revoke.ErrCorrupt that says why it is not.
func (sg *segment) checkTail(off int, fault string, last bool) error {
	switch {
	case off < sg.extent:
		return sg.corrupt(off, "%s, within the acknowledged extent of %d bytes", fault, sg.extent)
	case !last:
		return sg.corrupt(off, "%s, in a segment that another follows", fault)
	}
	for q := off + 1; q+frameHeader <= len(sg.b); q++ {
		if _, _, f := sg.frameAt(q); f == "" {
			return sg.corrupt(off, "%s, and a valid frame follows at offset %d", fault, q)
		}
	}
	return nil
}

// frameAt returns the payload of the frame at off and its end, or what is
// wrong with it.
func (sg *segment) frameAt(off int) (p []byte, end int, fault string) {
	rest := sg.b[off:]
	if len(rest) < frameHeader {
		return nil, 0, "a torn frame header"
	}
	if headerSum(sg.salt, rest) != binary.BigEndian.Uint32(rest[8:]) {
		return nil, 0, "a frame header whose checksum fails"
	}
	n := binary.BigEndian.Uint32(rest)
	switch {
	case n == 0 || n > maxFrame:
		return nil, 0, "a frame length out of range"
	case int64(n) > int64(len(rest)-frameHeader):
		return nil, 0, "a frame that runs past the end of the segment"
	}
	p = rest[frameHeader : frameHeader+int(n)]
	if crc32.Checksum(p, castagnoli) != binary.BigEndian.Uint32(rest[4:]) {
		return nil, 0, "a frame whose checksum fails"
	}
	return p, off + frameHeader + int(n), ""
}
