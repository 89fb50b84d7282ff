package statuslist

import (
	"bytes"
	"sync"
	"time"
)

// list is the state of a list that has revocations: its bit array, its
// compressed chunks, and the token last signed for it.
type list struct {
	id uint64

	mu      sync.Mutex
	bits    Array   // size/8 bytes
	chunks  []chunk // compressed chunks, valid where !dirty
	dirty   []bool
	version uint64 // counts changes to bits
	tok     *signed
}

// signed is a Status List Token as served: the compact JWS, its ETag,
// when it was signed, and the version of the list it holds.
type signed struct {
	jws     []byte
	etag    string
	iat     time.Time
	version uint64
}

// newList returns list id with every entry 0, of size entries.
func newList(id uint64, size int) *list {
	n := (size/8 + chunkBytes - 1) / chunkBytes
	l := &list{id: id, bits: make(Array, size/8), chunks: make([]chunk, n), dirty: make([]bool, n)}
	for i := range l.dirty {
		l.dirty[i] = true
	}
	return l
}

// set sets entry i to 1, and reports whether it changed. l.mu is held.
func (l *list) set(i uint32) bool {
	if l.bits[i/8]&(1<<(i%8)) != 0 {
		return false
	}
	l.bits.set(i)
	l.dirty[i/8/chunkBytes] = true
	l.version++
	return true
}

// replace takes the bits of b, of the same length, marking dirty only the
// chunks that differ. l.mu is held.
func (l *list) replace(b Array) {
	changed := false
	for c := range l.chunks {
		lo, hi := c*chunkBytes, min((c+1)*chunkBytes, len(b))
		if !bytes.Equal(l.bits[lo:hi], b[lo:hi]) {
			l.dirty[c] = true
			changed = true
		}
	}
	l.bits = b
	if changed {
		l.version++
	}
}

// compressed returns the ZLIB stream of the list, recompressing only the
// chunks that changed since the last call. l.mu is held.
func (l *list) compressed() []byte {
	for c, d := range l.dirty {
		if d {
			lo, hi := c*chunkBytes, min((c+1)*chunkBytes, len(l.bits))
			l.chunks[c] = compressChunk(l.bits[lo:hi])
			l.dirty[c] = false
		}
	}
	return assemble(l.chunks)
}

// zeroList returns the ZLIB stream of a list of size entries, all 0.
func zeroList(size int) []byte {
	n := size / 8
	chunks := make([]chunk, 0, (n+chunkBytes-1)/chunkBytes)
	for off := 0; off < n; off += chunkBytes {
		chunks = append(chunks, zeroChunk(min(chunkBytes, n-off)))
	}
	return assemble(chunks)
}
