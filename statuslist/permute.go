package statuslist

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"math/bits"
)

// feistelRounds is how many rounds the permutation runs.
const feistelRounds = 6

// permutation is a keyed pseudorandom permutation of [0, n): a balanced
// Feistel network over the smallest even number of bits that holds n-1,
// with AES-128 as its round function, walked in cycles until the result
// falls below n. It hands out a list's indices in random order without
// storing a table of the list.
type permutation struct {
	n    uint32
	half uint   // bits of each half
	mask uint32 // half bits set
	aes  cipher.Block
}

// newPermutation draws a random permutation of [0, n), n >= 2.
func newPermutation(n uint32) *permutation {
	k := uint(bits.Len32(n - 1))
	if k%2 == 1 {
		k++
	}
	var key [16]byte
	_, _ = rand.Read(key[:]) // never fails (crypto/rand)
	b, err := aes.NewCipher(key[:])
	if err != nil {
		panic("statuslist: " + err.Error()) // a 16-byte key is valid
	}
	return &permutation{n: n, half: k / 2, mask: 1<<(k/2) - 1, aes: b}
}

// at returns the image of i < n.
func (p *permutation) at(i uint32) uint32 {
	x := p.encrypt(i)
	for x >= p.n {
		x = p.encrypt(x)
	}
	return x
}

// encrypt applies the Feistel network to x, which holds 2*half bits.
func (p *permutation) encrypt(x uint32) uint32 {
	l, r := x>>p.half, x&p.mask
	var in, out [16]byte
	for round := range feistelRounds {
		in[0] = byte(round)
		binary.BigEndian.PutUint32(in[1:], r)
		p.aes.Encrypt(out[:], in[:])
		l, r = r, l^(binary.BigEndian.Uint32(out[:])&p.mask)
	}
	return l<<p.half | r
}
