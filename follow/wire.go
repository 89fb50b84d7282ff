package follow

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// FeedContentType is the media type of the feed format this package reads
// (package httpadapter serves it; its documentation, "The revocation feed",
// specifies it).
const FeedContentType = "application/vnd.sdkauth.revocations.v2"

// The frames of version 2.
const (
	feedVersion  = 2
	frameHello   = 'H'
	frameEntries = 'E'
	frameSync    = 'S'
	modeSnapshot = 'S'
	modeResume   = 'R'
	helloSize    = 22
	syncSize     = 12
	// An entry is the first feedIDSize bytes of an ID (the fingerprint an
	// index keeps, revoke.FingerprintSize) and the expiry (4). It is the
	// format's, fixed for version 2.
	feedIDSize    = 11
	feedEntrySize = feedIDSize + 4
	// maxFrameEntries is the most entries a frame may carry.
	maxFrameEntries = 1024
	maxBody         = 8 + maxFrameEntries*feedEntrySize
)

var feedCRC = crc32.MakeTable(crc32.Castagnoli)

// An entry carries exactly the fingerprint an index keeps: were
// revoke.FingerprintSize to change, the format would need a new version,
// and this stops the build until it has one.
var (
	_ [feedIDSize - revoke.FingerprintSize]struct{}
	_ [revoke.FingerprintSize - feedIDSize]struct{}
)

// frameReader reads the frames of a stream.
type frameReader struct {
	r    *bufio.Reader
	buf  []byte // header, body and CRC of the last frame
	body []byte // the body of the last frame, within buf
}

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 64<<10), buf: make([]byte, 0, 5+maxBody+4)}
}

// next reads a frame and returns its type; its body is fr.body until the
// next call. A stream that ends at a frame boundary returns io.EOF; any
// other flaw, an error wrapping ErrProtocol.
func (fr *frameReader) next() (byte, error) {
	hdr := fr.buf[:5]
	if _, err := io.ReadFull(fr.r, hdr); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, fmt.Errorf("%w: stream cut inside a frame header", ErrProtocol)
		}
		return 0, err
	}
	typ, n := hdr[0], binary.BigEndian.Uint32(hdr[1:])
	if err := checkLength(typ, n); err != nil {
		return 0, err
	}
	frame := fr.buf[:5+n+4]
	if _, err := io.ReadFull(fr.r, frame[5:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, fmt.Errorf("%w: stream cut inside a frame", ErrProtocol)
		}
		return 0, err
	}
	if crc32.Checksum(frame[:5+n], feedCRC) != binary.BigEndian.Uint32(frame[5+n:]) {
		return 0, fmt.Errorf("%w: frame %q fails its CRC", ErrProtocol, typ)
	}
	fr.body = frame[5 : 5+n]
	return typ, nil
}

// checkLength checks the body length n of a frame of type typ.
func checkLength(typ byte, n uint32) error {
	ok := false
	switch typ {
	case frameHello:
		ok = n == helloSize
	case frameSync:
		ok = n == syncSize
	case frameEntries:
		ok = n > 8 && n <= maxBody && (n-8)%feedEntrySize == 0
	default:
		return fmt.Errorf("%w: unknown frame type 0x%02x", ErrProtocol, typ)
	}
	if !ok {
		return fmt.Errorf("%w: frame %q of %d bytes", ErrProtocol, typ, n)
	}
	return nil
}

// hello is the first frame of a stream.
type hello struct {
	version   byte
	epoch     uint64
	mode      byte
	after     uint64
	heartbeat time.Duration
}

func parseHello(b []byte) hello {
	return hello{
		version:   b[0],
		epoch:     binary.BigEndian.Uint64(b[1:]),
		mode:      b[9],
		after:     binary.BigEndian.Uint64(b[10:]),
		heartbeat: time.Duration(binary.BigEndian.Uint32(b[18:])) * time.Millisecond,
	}
}

// parseSync returns the position and the server's lag of a sync frame.
func parseSync(b []byte) (pos uint64, lag time.Duration) {
	return binary.BigEndian.Uint64(b), time.Duration(binary.BigEndian.Uint32(b[8:])) * time.Millisecond
}

// entries returns the position of the first entry of an entries frame (0
// in a snapshot) and how many it holds.
func entries(b []byte) (first uint64, n int) {
	return binary.BigEndian.Uint64(b), (len(b) - 8) / feedEntrySize
}

// entry returns the i-th entry of an entries frame: a revocation whose ID
// holds the fingerprint the entry carries, the rest zero, as
// revoke.Index.Add takes it.
func entry(b []byte, i int) revoke.Revocation {
	e := b[8+i*feedEntrySize:]
	var rev revoke.Revocation
	copy(rev.ID[:feedIDSize], e[:feedIDSize])
	rev.ExpiresAt = time.Unix(int64(binary.BigEndian.Uint32(e[feedIDSize:])), 0)
	return rev
}
