package httpadapter

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// The feed's wire format, version 2 (see the package documentation, "The
// revocation feed").
const (
	feedVersion  = 2
	frameHello   = 'H'
	frameEntries = 'E'
	frameSync    = 'S'
	modeSnapshot = 'S'
	modeResume   = 'R'
	// feedIDSize is how much of a revocation's ID an entry carries: the
	// fingerprint the index keeps (revoke.FingerprintSize), all a snapshot
	// has of it. It is the format's, fixed for version 2.
	feedIDSize    = 11
	feedEntrySize = feedIDSize + 4 // ID's first 11 bytes, expiry 4
	// feedBatch is the most entries one frame carries.
	feedBatch = 512
)

var feedCRC = crc32.MakeTable(crc32.Castagnoli)

// An entry carries exactly the fingerprint an index keeps: were
// revoke.FingerprintSize to change, the format would need a new version,
// and this stops the build until it has one.
var (
	_ [feedIDSize - revoke.FingerprintSize]struct{}
	_ [revoke.FingerprintSize - feedIDSize]struct{}
)

// beginFrame appends the type and a length to fill in by endFrame.
func beginFrame(dst []byte, typ byte) []byte {
	return append(dst, typ, 0, 0, 0, 0)
}

// endFrame fills in the length of the frame that starts at start and
// appends its CRC-32C.
func endFrame(dst []byte, start int) []byte {
	binary.BigEndian.PutUint32(dst[start+1:], uint32(len(dst)-start-5))
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(dst[start:], feedCRC))
}

func appendHello(dst []byte, epoch uint64, mode byte, after uint64, heartbeat time.Duration) []byte {
	start := len(dst)
	dst = beginFrame(dst, frameHello)
	dst = append(dst, feedVersion)
	dst = binary.BigEndian.AppendUint64(dst, epoch)
	dst = append(dst, mode)
	dst = binary.BigEndian.AppendUint64(dst, after)
	dst = binary.BigEndian.AppendUint32(dst, uint32(heartbeat/time.Millisecond))
	return endFrame(dst, start)
}

// appendEntries appends a frame of revs, the first at position first (0
// in a snapshot).
func appendEntries(dst []byte, first uint64, revs []revoke.Revocation) []byte {
	start := len(dst)
	dst = beginEntries(dst, first)
	for i := range revs {
		dst = appendEntry(dst, &revs[i])
	}
	return endFrame(dst, start)
}

// beginEntries opens an entries frame whose first entry is at position
// first (0 in a snapshot); endFrame closes it.
func beginEntries(dst []byte, first uint64) []byte {
	return binary.BigEndian.AppendUint64(beginFrame(dst, frameEntries), first)
}

// appendEntry appends rev as an entry: the first feedIDSize bytes of its ID
// and its expiry. The rest of the ID and the check are not sent.
func appendEntry(dst []byte, rev *revoke.Revocation) []byte {
	dst = append(dst, rev.ID[:feedIDSize]...)
	return binary.BigEndian.AppendUint32(dst, expSeconds(rev.ExpiresAt))
}

// snapshotFramer packs a snapshot's entries into frames of feedBatch
// entries, whatever the batches revoke.Revoker.Snapshot hands them in (it
// hands over at most a shard of its index at a time, often an entry or
// two): a snapshot then costs 17 bytes of framing per feedBatch entries,
// not per batch.
type snapshotFramer struct {
	start int // where the open frame starts in the buffer
	n     int // entries in the open frame; none is open while 0
}

// add appends rev to dst, in the open frame or a new one, and reports
// whether that frame is full, and closed.
func (f *snapshotFramer) add(dst []byte, rev *revoke.Revocation) ([]byte, bool) {
	if f.n == 0 {
		f.start = len(dst)
		dst = beginEntries(dst, 0)
	}
	dst = appendEntry(dst, rev)
	if f.n++; f.n < feedBatch {
		return dst, false
	}
	f.n = 0
	return endFrame(dst, f.start), true
}

// close closes the open frame, if any.
func (f *snapshotFramer) close(dst []byte) []byte {
	if f.n == 0 {
		return dst
	}
	f.n = 0
	return endFrame(dst, f.start)
}

func appendSync(dst []byte, pos uint64, lag time.Duration) []byte {
	start := len(dst)
	dst = beginFrame(dst, frameSync)
	dst = binary.BigEndian.AppendUint64(dst, pos)
	dst = binary.BigEndian.AppendUint32(dst, uint32(min(lag.Milliseconds(), math.MaxUint32)))
	return endFrame(dst, start)
}

// expSeconds is t in Unix seconds, rounded up and clamped to uint32; the
// entries of a change log or snapshot are whole seconds already (a
// snapshot's rounded up to revoke.ExpiryResolution).
func expSeconds(t time.Time) uint32 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return uint32(min(max(s, 0), math.MaxUint32))
}
