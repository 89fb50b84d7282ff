package bolt

import (
	"encoding/hex"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	bbolt "go.etcd.io/bbolt"
)

// The journal is a sequence of segment files beside the database, named
// by journalPrefix and a decimal segment number. Integers are big-endian
// and checksums CRC-32C (Castagnoli). A segment starts with a header of
// journalHeader bytes:
//
//	8 bytes  journalMagic
//	4 bytes  journalVersion
//	8 bytes  the segment's salt, random
//	2 × 12   the acknowledged extent, in two slots that commits write in
//	         turn: 8 bytes, a length of the segment known to be durable,
//	         then the checksum of the salt, the slot's number (one byte)
//	         and that length
//
// then one frame per commit:
//
//	4 bytes  the payload's length
//	4 bytes  the payload's checksum
//	4 bytes  the checksum of the salt and the 8 bytes above
//
// and the payload:
//
//	uvarint  the revocation sequence number the commit reached
//	uvarint  the number of changes, then per change:
//	byte     1: put, 0: delete
//	32 bytes the record's ID
//	uvarint  (put) the length of the encoded record, then the record as
//	         the records bucket holds it (see encodeRecord)
//
// A commit writes its frame and, in the slot of its turn, the end of the
// frame before it, which the previous commit made durable; one fdatasync
// makes both durable. Switching to the next segment records the end of the
// last frame too. The frames before the recorded extent were acknowledged:
// damage to them is revoke.ErrCorrupt, whatever follows (see readSegment). The
// salt keeps a frame that a payload happens to hold, or a frame of another
// segment, from passing for a frame of this one. Version 1, which no
// release wrote, had neither the salt, the extent nor the header's own
// checksum; its segments are refused with revoke.ErrVersion.
const (
	journalMagic   = "\x00rvkjrnl"
	journalVersion = 2
	saltOffset     = 12 // journalMagic and journalVersion
	saltLen        = 8
	slotsOffset    = saltOffset + saltLen
	slotLen        = 12
	journalHeader  = slotsOffset + 2*slotLen
	frameHeader    = 12
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

// The operations of the disk and the tree that the journal's failures and
// races turn on, kept as variables so that the package's tests can fail,
// hold up or watch them: syncDir makes the entries of a directory durable,
// syncFile the data of a segment (see datasync), beginTree begins a bbolt
// transaction of the tree, and updateTree runs the one that writes a batch
// of the journal to the tree.
var (
	syncDir = func(dir string) error {
		d, err := os.Open(dir)
		if err != nil {
			return err
		}
		return errors.Join(d.Sync(), d.Close())
	}
	syncFile   = datasync
	beginTree  = (*bbolt.DB).Begin
	updateTree = (*bbolt.DB).Update
)
