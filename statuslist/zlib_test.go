package statuslist

import (
	"bytes"
	"compress/zlib"
	"hash/adler32"
	"io"
	"math/rand/v2"
	"testing"
)

// inflate decompresses z with compress/zlib, which checks the header, the
// blocks and the Adler-32.
func inflate(t *testing.T, z []byte) []byte {
	t.Helper()
	r, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCompressProperty compresses arrays of many lengths (around the chunk
// size, across several chunks, empty) and densities, and checks with
// compress/zlib that each decompresses to itself.
func TestCompressProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	lengths := []int{0, 1, 2, 7, chunkBytes - 1, chunkBytes, chunkBytes + 1, 3*chunkBytes + 17}
	for range 8 {
		lengths = append(lengths, rng.IntN(5*chunkBytes))
	}
	for _, n := range lengths {
		for _, density := range []float64{0, 0.001, 0.01, 0.5, 1} {
			a := make([]byte, n)
			for i := range a {
				for b := range 8 {
					if rng.Float64() < density {
						a[i] |= 1 << b
					}
				}
			}
			if got := inflate(t, compressArray(a)); !bytes.Equal(got, a) {
				t.Fatalf("length %d, density %v: decompressed %d bytes that differ", n, density, len(got))
			}
		}
	}
}

// TestAdlerCombine checks the combined Adler-32 against the checksum of the
// concatenation, for random splits, lengths beyond the modulus included.
func TestAdlerCombine(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 200 {
		a := make([]byte, rng.IntN(200_000))
		b := make([]byte, rng.IntN(200_000))
		for i := range a {
			a[i] = byte(rng.Uint32())
		}
		for i := range b {
			b[i] = 0xff
		}
		want := adler32.Checksum(append(append([]byte{}, a...), b...))
		if got := adlerCombine(adler32.Checksum(a), adler32.Checksum(b), len(b)); got != want {
			t.Fatalf("adlerCombine = %08x, want %08x (lengths %d, %d)", got, want, len(a), len(b))
		}
	}
}

// TestListRecompressesChangedChunks sets entries of a list of several
// chunks between compressions, and checks that each compressed stream is
// the current array, whichever chunk changed.
func TestListRecompressesChangedChunks(t *testing.T) {
	const size = 5 * chunkBytes * 8
	l := newList(1, size)
	want := make(Array, size/8)
	rng := rand.New(rand.NewPCG(9, 10))
	for range 20 {
		for range 3 {
			i := uint32(rng.IntN(size))
			l.set(i)
			want.set(i)
		}
		if got := inflate(t, l.compressed()); !bytes.Equal(got, want) {
			t.Fatal("the compressed list is not its array")
		}
	}
	if got := inflate(t, zeroList(size)); !bytes.Equal(got, make([]byte, size/8)) {
		t.Fatal("the zero list is not all 0")
	}
}
