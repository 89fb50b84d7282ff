package statuslist

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

// The test vectors of draft-ietf-oauth-status-list-17 (unchanged in the
// editor's copy, draft 20): section 4.1's examples of a byte array and its
// compressed form, section 4.2's JSON encodings of them, and appendix B's
// 1-bit list of 2^20 entries.

// vector16 is section 4.1's first example: 16 entries of 1 bit.
var vector16 = struct {
	revoked []uint32
	bytes   []byte
	zlibHex string
	lst     string
}{
	revoked: []uint32{0, 3, 4, 5, 7, 8, 9, 13, 15},
	bytes:   []byte{0xb9, 0xa3},
	zlibHex: "78dadbb918000217015d",
	lst:     "eNrbuRgAAhcBXQ",
}

// vectorLong is appendix B.1: a 1-bit list of 2^20 entries.
var vectorLong = struct {
	size    int
	revoked []uint32
	lst     string
}{
	size:    1 << 20,
	revoked: []uint32{0, 1993, 25460, 159495, 495669, 554353, 645645, 723232, 854545, 934534, 1000345},
	lst: "eNrt3AENwCAMAEGogklACtKQPg9LugC9k_ACvreiogEAAKkeCQAAAAAAAAAAAAAAAAAAAIBylgQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" +
		"AAAAAAAXG9IAAAAAAAAAPwsJAAAAAAAAAAAAAAAvhsSAAAAAAAAAAAA7KpLAAAAAAAAAAAAAAAAAAAAAJsLCQAAAAAAAAAAADjelAAAAAAAAAAAKjDMAQAAAACAZC8L2AEb",
}

// TestVectorBitOrder sets the entries of section 4.1's example and finds
// the draft's bytes: entry i in bit i%8 of byte i/8, least significant
// first.
func TestVectorBitOrder(t *testing.T) {
	a := make(Array, 2)
	for _, i := range vector16.revoked {
		a.set(i)
	}
	if !bytes.Equal(a, vector16.bytes) {
		t.Fatalf("bytes = %x, want %x", []byte(a), vector16.bytes)
	}
	for i := range uint32(16) {
		want := uint8(0)
		for _, r := range vector16.revoked {
			if r == i {
				want = 1
			}
		}
		if got, err := a.Status(i); err != nil || got != want {
			t.Errorf("Status(%d) = %d, %v; want %d", i, got, err, want)
		}
	}
}

// TestVectorDecode decodes the draft's encodings and finds its arrays.
func TestVectorDecode(t *testing.T) {
	z, err := hex.DecodeString(vector16.zlibHex)
	if err != nil {
		t.Fatal(err)
	}
	if got := base64.RawURLEncoding.EncodeToString(z); got != vector16.lst {
		t.Fatalf("the draft's hex and lst differ: %s, %s", got, vector16.lst)
	}
	for _, c := range []struct {
		name, lst string
		want      []byte
	}{
		{"section 4.1, 1 bit", vector16.lst, vector16.bytes},
		{"section 4.1, 2 bits", "eNo76fITAAPfAgc", []byte{0xc9, 0x44, 0xf9}},
	} {
		got, err := Decode(c.lst)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("%s: Decode = %x, %v; want %x", c.name, []byte(got), err, c.want)
		}
	}
	long, err := Decode(vectorLong.lst)
	if err != nil {
		t.Fatal(err)
	}
	if long.Len() != vectorLong.size {
		t.Fatalf("appendix B.1 decodes to %d entries, want %d", long.Len(), vectorLong.size)
	}
	if !bytes.Equal(long, vectorLongArray()) {
		t.Fatal("appendix B.1 does not decode to its entries")
	}
}

// vectorLongArray returns appendix B.1's array, built with set.
func vectorLongArray() Array {
	a := make(Array, vectorLong.size/8)
	for _, i := range vectorLong.revoked {
		a.set(i)
	}
	return a
}

// TestVectorEncode encodes the draft's arrays and decodes them back: the
// bytes differ from the draft's (another compressor, in chunks), the
// array they hold does not.
func TestVectorEncode(t *testing.T) {
	for _, a := range []Array{vector16.bytes, vectorLongArray()} {
		lst := Encode(a)
		got, err := Decode(lst)
		if err != nil || !bytes.Equal(got, a) {
			t.Fatalf("Decode(Encode(a)) = %d bytes, %v; want the %d bytes of a", len(got), err, len(a))
		}
	}
}
