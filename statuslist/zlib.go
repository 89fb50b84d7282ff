package statuslist

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"hash/adler32"
	"sync"
)

// chunkBytes is how many bytes of a list's bit array (8 entries each) one
// compressed chunk holds: 8 KiB, 65,536 entries. A revocation
// recompresses its chunk only. The cost of compress/flate's level 9 grows
// faster than the chunk: about 5 ms for 8 KiB of a sparse list, 13 ms for
// 16 KiB, 100 ms for 64 KiB; and independent chunks of 8 KiB make a list
// about 5% larger than one stream would (BENCHMARKS.md).
const chunkBytes = 8 << 10

// zlibHeader is the two-byte ZLIB header (RFC 1950) of every list:
// DEFLATE with a 32 KiB window (CMF 0x78), maximum compression, no preset
// dictionary (FLG 0xDA, a multiple of 31 with CMF).
var zlibHeader = [2]byte{0x78, 0xda}

// finalBlock is an empty DEFLATE block with BFINAL set (fixed Huffman
// codes, the end-of-block code alone), which ends the stream after the
// chunks, each of which ends byte-aligned with an empty stored block.
var finalBlock = [2]byte{0x03, 0x00}

// chunk is one compressed chunk: an independent DEFLATE segment (no
// back-reference leaves it), without BFINAL, ending with a sync flush, and
// the Adler-32 of its raw bytes.
type chunk struct {
	deflated []byte
	adler    uint32
	raw      int // its length in raw bytes
}

// writers keeps DEFLATE writers at level 9 for reuse: each holds about a
// megabyte of state.
var writers = sync.Pool{New: func() any {
	w, err := flate.NewWriter(nil, flate.BestCompression)
	if err != nil {
		panic("statuslist: " + err.Error()) // BestCompression is a valid level
	}
	return w
}}

// compressChunk compresses raw as an independent DEFLATE segment.
func compressChunk(raw []byte) chunk {
	var buf bytes.Buffer
	w := writers.Get().(*flate.Writer)
	w.Reset(&buf)
	// Writes to a bytes.Buffer do not fail.
	_, _ = w.Write(raw)
	_ = w.Flush()
	writers.Put(w)
	return chunk{deflated: buf.Bytes(), adler: adler32.Checksum(raw), raw: len(raw)}
}

// zeroChunks caches the compressed chunk of all-zero bytes by length: every
// list without revocations is made of them.
var zeroChunks sync.Map // int -> chunk

// zeroChunk returns the compressed chunk of n zero bytes.
func zeroChunk(n int) chunk {
	if c, ok := zeroChunks.Load(n); ok {
		return c.(chunk)
	}
	c := compressChunk(make([]byte, n))
	zeroChunks.Store(n, c)
	return c
}

// assemble returns the ZLIB stream of the chunks, in order: the header,
// their segments, the final empty block and the Adler-32 of the whole raw
// array, combined from theirs.
func assemble(chunks []chunk) []byte {
	n := len(zlibHeader) + len(finalBlock) + 4
	for _, c := range chunks {
		n += len(c.deflated)
	}
	out := make([]byte, 0, n)
	out = append(out, zlibHeader[:]...)
	sum := uint32(1) // the Adler-32 of no bytes
	for _, c := range chunks {
		out = append(out, c.deflated...)
		sum = adlerCombine(sum, c.adler, c.raw)
	}
	out = append(out, finalBlock[:]...)
	return binary.BigEndian.AppendUint32(out, sum)
}

// adlerBase is the modulus of Adler-32.
const adlerBase = 65521

// adlerCombine returns the Adler-32 of a || b from a's and b's, given b's
// length (as zlib's adler32_combine does).
func adlerCombine(a, b uint32, lenB int) uint32 {
	rem := uint32(lenB % adlerBase)
	sum1 := a & 0xffff
	sum2 := (rem * sum1) % adlerBase
	sum1 += (b & 0xffff) + adlerBase - 1
	sum2 += (a >> 16) + (b >> 16) + adlerBase - rem
	if sum1 >= adlerBase {
		sum1 -= adlerBase
	}
	if sum1 >= adlerBase {
		sum1 -= adlerBase
	}
	if sum2 >= adlerBase<<1 {
		sum2 -= adlerBase << 1
	}
	if sum2 >= adlerBase {
		sum2 -= adlerBase
	}
	return sum1 | sum2<<16
}
