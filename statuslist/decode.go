package statuslist

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"fmt"
	"io"
)

// MaxDecodedBytes is the largest bit array Decode inflates (128 MiB: a
// list of 2^30 entries), so that a hostile list cannot exhaust memory.
const MaxDecodedBytes = MaxListSize / 8

// Array is a decoded Status List of 1-bit entries: byte i holds the
// entries 8i to 8i+7, the first in the least significant bit.
type Array []byte

// Len returns how many entries the array holds.
func (a Array) Len() int { return len(a) * 8 }

// Status returns the status of entry i: 0 (VALID) or 1 (INVALID). An
// index beyond the array is an error wrapping ErrOutOfRange.
func (a Array) Status(i uint32) (uint8, error) {
	if uint64(i) >= uint64(len(a))*8 {
		return 0, fmt.Errorf("statuslist: entry %d of a list of %d: %w", i, a.Len(), ErrOutOfRange)
	}
	return a[i/8] >> (i % 8) & 1, nil
}

// set sets entry i to 1; i must be in range.
func (a Array) set(i uint32) { a[i/8] |= 1 << (i % 8) }

// Decode decodes the "lst" member of a Status List (the base64url, without
// padding, of its ZLIB-compressed byte array) into its byte array. It is
// what a relying party does after verifying the Status List Token; errors
// wrap ErrMalformed.
func Decode(lst string) (Array, error) {
	raw, err := base64.RawURLEncoding.DecodeString(lst)
	if err != nil {
		return nil, fmt.Errorf("%w: lst is not base64url: %v", ErrMalformed, err)
	}
	zr, err := zlib.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, MaxDecodedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if len(out) > MaxDecodedBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrMalformed, MaxDecodedBytes)
	}
	return Array(out), nil
}

// Encode returns the "lst" member of a Status List for the byte array a:
// base64url, without padding, of its ZLIB stream, compressed at the
// highest level in independent chunks of 8 KiB (the form the Issuer
// serves). Decode(Encode(a)) is a.
func Encode(a Array) string {
	return base64.RawURLEncoding.EncodeToString(compressArray(a))
}

// compressArray returns the ZLIB stream of a, chunk by chunk.
func compressArray(a []byte) []byte {
	chunks := make([]chunk, 0, (len(a)+chunkBytes-1)/chunkBytes)
	for off := 0; off < len(a); off += chunkBytes {
		chunks = append(chunks, compressChunk(a[off:min(off+chunkBytes, len(a))]))
	}
	return assemble(chunks)
}
