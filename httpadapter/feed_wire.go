package httpadapter

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// The feed's wire format, version 1 (see the package documentation, "The
// revocation feed").
const (
	feedVersion   = 1
	frameHello    = 'H'
	frameEntries  = 'E'
	frameSync     = 'S'
	modeSnapshot  = 'S'
	modeResume    = 'R'
	feedEntrySize = 40 // ID 32, check 4, expiry 4
	// feedBatch is the most entries one frame carries.
	feedBatch = 512
)

var feedCRC = crc32.MakeTable(crc32.Castagnoli)

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
	dst = beginFrame(dst, frameEntries)
	dst = binary.BigEndian.AppendUint64(dst, first)
	for i := range revs {
		dst = append(dst, revs[i].ID[:]...)
		dst = binary.BigEndian.AppendUint32(dst, revs[i].Check)
		dst = binary.BigEndian.AppendUint32(dst, expSeconds(revs[i].ExpiresAt))
	}
	return endFrame(dst, start)
}

func appendSync(dst []byte, pos uint64, lag time.Duration) []byte {
	start := len(dst)
	dst = beginFrame(dst, frameSync)
	dst = binary.BigEndian.AppendUint64(dst, pos)
	dst = binary.BigEndian.AppendUint32(dst, uint32(min(lag.Milliseconds(), math.MaxUint32)))
	return endFrame(dst, start)
}

// expSeconds is t in Unix seconds, clamped to uint32; the entries of a
// change log or snapshot are whole seconds already.
func expSeconds(t time.Time) uint32 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return uint32(min(max(s, 0), math.MaxUint32))
}
