package bolt

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sdkauth/revocation/revoke"
)

// The journal is a sequence of segment files beside the database, named
// by journalPrefix and a decimal segment number. A segment starts with
// journalMagic and journalVersion (4 bytes, big-endian), then holds one
// frame per commit: the payload's length (4 bytes), its CRC-32C (4 bytes,
// Castagnoli), both big-endian, and the payload:
//
//	uvarint  the revocation sequence number the commit reached
//	uvarint  the number of changes, then per change:
//	byte     1: put, 0: delete
//	32 bytes the record's ID
//	uvarint  (put) the length of the encoded record, then the record as
//	         the records bucket holds it (see encodeRecord)
const (
	journalMagic   = "\x00rvkjrnl"
	journalVersion = 1
	journalHeader  = len(journalMagic) + 4
	frameHeader    = 8
	// maxFrame bounds the payload length a frame may declare.
	maxFrame = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// journalPrefix returns the path of the segments of the store in bucket of
// the database at path, up to the segment number: "<path>-journal." for
// the default bucket, "<path>-journal-<hex of bucket>." for others.
func journalPrefix(path, bucket string) string {
	if bucket == DefaultBucket {
		return path + "-journal."
	}
	return path + "-journal-" + hex.EncodeToString([]byte(bucket)) + "."
}

// segmentPath returns the path of segment n.
func segmentPath(prefix string, n uint64) string {
	return prefix + strconv.FormatUint(n, 10)
}

// segments returns the numbers of the segments that exist, ascending.
func segments(prefix string) ([]uint64, error) {
	dir, base := filepath.Split(prefix)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ns []uint64
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), base)
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(rest, 10, 64); err == nil && strconv.FormatUint(n, 10) == rest {
			ns = append(ns, n)
		}
	}
	slices.Sort(ns)
	return ns, nil
}

// encodeFrame appends the frame of w to dst.
func encodeFrame(dst []byte, w *writeSet) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeader)...)
	dst = binary.AppendUvarint(dst, w.seq)
	dst = binary.AppendUvarint(dst, uint64(len(w.order)))
	var rec []byte
	for _, id := range w.order {
		c := w.m[id]
		if c.deleted {
			dst = append(dst, 0)
			dst = append(dst, id[:]...)
			continue
		}
		dst = append(dst, 1)
		dst = append(dst, id[:]...)
		var err error
		if rec, err = encodeRecord(rec[:0], c.rec); err != nil {
			return nil, err
		}
		dst = binary.AppendUvarint(dst, uint64(len(rec)))
		dst = append(dst, rec...)
	}
	payload := dst[start+frameHeader:]
	if len(payload) > maxFrame {
		return nil, fmt.Errorf("bolt: a commit of %d bytes exceeds the journal's frame limit", len(payload))
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.BigEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, castagnoli))
	return dst, nil
}

// decodeFrame decodes a frame's payload.
func decodeFrame(p []byte) (*writeSet, error) {
	w := newWriteSet()
	seq, k := binary.Uvarint(p)
	if k <= 0 {
		return nil, errors.New("bad sequence number")
	}
	p = p[k:]
	count, k := binary.Uvarint(p)
	if k <= 0 || count > uint64(len(p)) {
		return nil, errors.New("bad change count")
	}
	p = p[k:]
	for range count {
		if len(p) < 1+idLen {
			return nil, errShort
		}
		op, id := p[0], revoke.ID(p[1:1+idLen])
		p = p[1+idLen:]
		switch op {
		case 0:
			w.set(id, change{deleted: true})
		case 1:
			n, k := binary.Uvarint(p)
			if k <= 0 || n > uint64(len(p)-k) {
				return nil, errShort
			}
			rec, err := decodeRecord(id[:], p[k:k+int(n)])
			if err != nil {
				return nil, err
			}
			p = p[k+int(n):]
			w.set(id, change{rec: rec})
		default:
			return nil, fmt.Errorf("unknown change %d", op)
		}
	}
	if len(p) != 0 {
		return nil, errTrailing
	}
	w.seq = max(w.seq, seq)
	return w, nil
}

// readSegment returns the commits of the segment at path, in order. In the
// last segment, a torn frame, or a frame whose checksum fails with nothing
// but zeros after it, is a commit that was never acknowledged, and so are
// zeros that end it: readSegment stops there (the segment goes once
// replayed). Anywhere else a bad frame, or a
// bad header, is ErrCorrupt: it may hide acknowledged commits.
func readSegment(path string, last bool) ([]*writeSet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	bad := func(off int, format string, args ...any) ([]*writeSet, error) {
		return nil, fmt.Errorf("%w: journal segment %s, offset %d: %s", ErrCorrupt, path, off, fmt.Sprintf(format, args...))
	}
	if len(b) < journalHeader {
		if last && string(b) == journalMagic[:min(len(b), len(journalMagic))] {
			return nil, nil // torn while it was created: empty
		}
		return bad(0, "a header of %d bytes", len(b))
	}
	if string(b[:len(journalMagic)]) != journalMagic {
		return bad(0, "not a journal segment")
	}
	if v := binary.BigEndian.Uint32(b[len(journalMagic):]); v != journalVersion {
		return nil, fmt.Errorf("%w: journal segment %s has version %d (this package reads %d)", ErrVersion, path, v, journalVersion)
	}
	var ws []*writeSet
	off := journalHeader
	for off < len(b) {
		rest := b[off:]
		if last && zeros(rest) {
			break // torn: the file grew before the data reached it
		}
		if len(rest) < frameHeader {
			if last {
				break // torn
			}
			return bad(off, "a torn frame header")
		}
		n := int64(binary.BigEndian.Uint32(rest))
		if n > int64(len(rest)-frameHeader) {
			if last {
				break // torn
			}
			return bad(off, "a frame of %d bytes past the end", n)
		}
		p := rest[frameHeader : frameHeader+n]
		if crc32.Checksum(p, castagnoli) != binary.BigEndian.Uint32(rest[4:]) {
			if last && zeros(rest[frameHeader+n:]) {
				break // the last frame, never acknowledged
			}
			return bad(off, "a frame whose checksum fails")
		}
		w, err := decodeFrame(p)
		if err != nil {
			return bad(off, "%v", err)
		}
		ws = append(ws, w)
		off += frameHeader + int(n)
	}
	return ws, nil
}

// zeros reports whether b holds only zero bytes. A frame is never all
// zeros: its payload holds at least two uvarints, so its length is not 0.
func zeros(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// createSegment creates segment file path with its header, durably (the
// file and its directory entry) unless noSync.
func createSegment(path string, mode os.FileMode, noSync bool) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, mode)
	if err != nil {
		return nil, err
	}
	h := append([]byte(journalMagic), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(h[len(journalMagic):], journalVersion)
	if _, err := f.Write(h); err != nil {
		return nil, errors.Join(err, f.Close(), os.Remove(path))
	}
	if !noSync {
		if err := errors.Join(f.Sync(), syncDir(filepath.Dir(path))); err != nil {
			return nil, errors.Join(err, f.Close(), os.Remove(path))
		}
	}
	return f, nil
}

// syncDir makes the directory entries of dir durable. It is a variable
// so that tests can see when it runs.
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
