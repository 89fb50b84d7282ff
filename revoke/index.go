package revoke

import (
	"encoding/binary"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// index is the in-process set of revoked token IDs that IsRevoked consults.
//
// It keeps 86 bits of each ID (the fingerprint: its first 11 bytes but the
// last two bits) and the expiry to the hour, in 12.8 bytes, so it holds no
// more than a truncated SHA-256 of a token: neither the token nor its full
// ID. A token is looked up by its own SHA-256, never by the checksum stored
// beside it, so a record whose checksum is wrong is found all the same. Two
// IDs share a fingerprint with probability 2^-86: over n entries, a token
// that is not revoked is reported revoked with probability at most n·2^-86
// per check, below 2^-60 up to 2^26 (67 million) entries.
//
// The fingerprints are spread over indexShards shards by their first 10
// bits, and each shard is a hash table of 64-byte buckets of five slots,
// which keep the other 76 bits (a 64-bit head and a 12-bit tag), probed
// linearly from the home bucket. A bucket also summarizes the entries whose
// home it is that went past it (how far, and a byte of each: see
// summaryShift), so that a lookup reads its home's cache line and, unless
// the summary names it, no other: a miss as seldom as a hit. A table is
// filled to at most 93% of its slots and rebuilt at about 82% when it
// grows, so its buckets take 13.8 to 15.6 bytes per entry.
//
// Readers take no lock and write nothing: they load the shard's table and
// its words atomically. An entry's fields, and its home's summary, are
// written before the word that publishes it, and it never moves within a table: it leaves only when its
// shard's table is rebuilt (to grow, or to drop expired entries) and
// published whole, while readers finish on the one they loaded. Writers
// serialize per shard.
//
// Entries are counted by expiry hour; a sweep rebuilds the tables only once
// expired entries have reached a quarter of the index, so the work of
// dropping expired entries is proportional to them, not to the live ones
// (see sweep).
type index struct {
	shards [indexShards]indexShard
	count  atomic.Int64 // entries, for Stats
	base   atomic.Int64 // Unix seconds that expiry code 0 stands for; set at the first add
	// expiring counts the entries by expiry code.
	expiring expiryCounts
	// loading, while New reads the store, collects entries per shard
	// instead of inserting them, to build each table once (see index_load.go).
	loading bool
}

const (
	indexShardBits = 10
	indexShards    = 1 << indexShardBits

	bucketSlots = 5
	bucketWords = 8 // 5 fingerprint heads, then 3 words of 5 packed fields and the spill summary
	fieldsWord  = bucketSlots
	tagBits     = 12
	codeBits    = 16
	fieldBits   = tagBits + codeBits
	fieldMask   = 1<<fieldBits - 1
	codeMask    = 1<<codeBits - 1
	// A bucket's spill summary is the 52 bits of its last word above its
	// five fields. It describes the entries whose home the bucket is but
	// that went past it, finding it full: their reach (how many buckets
	// past it the farthest went, 1 to 6, or farReach for 7 or more), a
	// signature of each (a byte of its tag, never 0) in up to spillSigs
	// bytes, and an overflow bit set once more than spillSigs went past.
	// A lookup that does not find its key in its home bucket looks further
	// only when the key's signature is there or the overflow bit is set,
	// and then stops after the reach, or, for farReach, at the first bucket
	// with an empty slot.
	summaryWord  = fieldsWord + 2
	summaryShift = bucketSlots*fieldBits - 128
	reachMask    = 7
	farReach     = reachMask
	overflowBit  = 1 << 3
	sigsShift    = 4
	spillSigs    = 6
	// expUnit is the resolution of an entry's expiry: it is kept rounded up
	// to it, so an entry may be held (and reported revoked) up to one unit
	// after its token expired, which is harmless. codeMask units from the
	// index's base (7.5 years) is the furthest expiry kept; a later one is
	// kept as that, never swept while the process runs.
	expUnit = int64(time.Hour / time.Second)

	// A table grows when an insert would fill more than maxFillPct of its
	// slots, to growFillPct; a bulk load builds it at loadFillPct.
	maxFillPct  = 93
	growFillPct = 82
	loadFillPct = 90
)

type indexShard struct {
	mu  sync.Mutex // held by writers
	tab atomic.Pointer[indexTable]
	// pending holds the entries collected while the index is loading.
	pending []*loadChunk
	_       [64 - unsafe.Sizeof(sync.Mutex{}) - unsafe.Sizeof(atomic.Pointer[indexTable]{}) - unsafe.Sizeof([]*loadChunk{})]byte
}

// indexTable is one generation of a shard's table.
type indexTable struct {
	// words holds the buckets, bucketWords words each, aligned to 64 bytes.
	// Word s < bucketSlots of a bucket is the head of slot s's fingerprint
	// (the ID's bits 10 to 73; 0 for an empty slot); the last three words
	// hold the slots' fields, fieldBits each: the tag (bits 74 to 85) above
	// the expiry code; and above them, in bits 12 to 63 of the last word,
	// the bucket's spill summary (see summaryShift).
	words   []atomic.Uint64
	buckets uint64
	count   int // writers only
}

// fkey is an ID's fingerprint as the index keeps it: its first
// indexShardBits bits choose the shard, the next 64 (head) and tagBits more
// (tag) are stored.
type fkey struct {
	head  uint64 // never 0
	tag   uint32
	shard uint32
}

// keyOf returns the fingerprint of id.
func keyOf(id *ID) fkey {
	hi, lo := binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:16])
	head := hi<<indexShardBits | lo>>(64-indexShardBits)
	if head == 0 {
		head = 1 // 0 marks an empty slot
	}
	return fkey{
		head:  head,
		tag:   uint32(lo>>(64-indexShardBits-tagBits)) & (1<<tagBits - 1),
		shard: uint32(hi >> (64 - indexShardBits)),
	}
}

// id returns an ID holding k's fingerprint, the rest zero. For the one
// head keyOf changed (0 to 1) it holds a fingerprint whose keyOf is k all
// the same: an index loaded from it finds what this one finds.
func (k fkey) id() ID {
	var id ID
	binary.BigEndian.PutUint64(id[:8], uint64(k.shard)<<(64-indexShardBits)|k.head>>indexShardBits)
	binary.BigEndian.PutUint64(id[8:16], k.head<<(64-indexShardBits)|uint64(k.tag)<<(64-indexShardBits-tagBits))
	return id
}

// sig is k's signature in a bucket's spill summary: a byte of its tag,
// which home does not depend on, never 0.
func (k fkey) sig() uint64 {
	return max(uint64(k.tag&0xff), 1)
}

func (ix *index) shard(k fkey) *indexShard {
	return &ix.shards[k.shard]
}

// home is the bucket of n where head's probe starts.
func home(head, n uint64) uint64 {
	hi, _ := bits.Mul64(head*0x9E3779B97F4A7C15, n)
	return hi
}

// code is t as an expiry code of the index: the units since the base,
// rounded up, clamped to [0, codeMask].
func (ix *index) code(t time.Time) uint32 {
	base := ix.base.Load()
	if base == 0 {
		ix.setBase(time.Now())
		base = ix.base.Load()
	}
	s := t.Unix() - base
	if t.Nanosecond() > 0 {
		s++
	}
	switch {
	case s <= 0:
		return 0
	case s >= codeMask*expUnit:
		return codeMask
	}
	return uint32((s + expUnit - 1) / expUnit)
}

// setBase sets the time expiry code 0 stands for, two days before now
// (a Revoker's clock may differ from time.Now), unless it is set.
// The base is on a whole hour, so that an expiry code names the same hour
// in every index: an expiry a snapshot rounded up is not rounded again by
// the follower's index.
func (ix *index) setBase(now time.Time) {
	base := now.Unix() - 48*3600
	ix.base.CompareAndSwap(0, base-base%expUnit)
}

// expiry is the time code stands for.
func (ix *index) expiry(code uint32) time.Time {
	return time.Unix(ix.base.Load()+int64(code)*expUnit, 0).UTC()
}

// newTable returns an empty table with room for want entries at fillPct.
func newTable(want, fillPct int) *indexTable {
	n := uint64(max(2, (want*100/fillPct+bucketSlots-1)/bucketSlots+1))
	raw := make([]atomic.Uint64, n*bucketWords+bucketWords-1)
	off := 0
	if r := uintptr(unsafe.Pointer(&raw[0])) % 64; r != 0 {
		off = int(64-r) / 8
	}
	return &indexTable{words: raw[off : off+int(n)*bucketWords : off+int(n)*bucketWords], buckets: n}
}

// full reports whether one more entry would fill t past maxFillPct.
func (t *indexTable) full() bool {
	return (t.count+1)*100 > int(t.buckets)*bucketSlots*maxFillPct
}

// field returns the field of slot s of bucket b.
func (t *indexTable) field(b uint64, s int) uint64 {
	w := b*bucketWords + fieldsWord
	off := uint(s * fieldBits)
	i, sh := uint64(off/64), off%64
	v := t.words[w+i].Load() >> sh
	if sh+fieldBits > 64 {
		v |= t.words[w+i+1].Load() << (64 - sh)
	}
	return v & fieldMask
}

// setField sets the field of slot s of bucket b. Writers only.
func (t *indexTable) setField(b uint64, s int, f uint64) {
	w := b*bucketWords + fieldsWord
	off := uint(s * fieldBits)
	i, sh := uint64(off/64), off%64
	lo := &t.words[w+i]
	lo.Store(lo.Load()&^(fieldMask<<sh) | f<<sh)
	if sh+fieldBits > 64 {
		hi := &t.words[w+i+1]
		n := sh + fieldBits - 64
		hi.Store(hi.Load()&^(1<<n-1) | f>>(64-sh))
	}
}

// contains reports whether the token whose key is key is in the index,
// hashing it with SHA-256.
func (ix *index) contains(key string) bool {
	id := TokenID(key)
	return ix.containsKey(keyOf(&id))
}

// containsKey reports whether k is in the index. It reads k's home
// bucket, then further buckets only when the home's spill summary allows
// that k went past it (see summaryShift).
func (ix *index) containsKey(k fkey) bool {
	t := ix.shard(k).tab.Load()
	if t == nil {
		return false
	}
	_, _, ok, _ := t.find(k)
	return ok
}

// find returns the bucket and slot holding k (see containsKey), and how
// many buckets it read. Entries fill a bucket's slots in order and never
// move within a table, so k is in no bucket after one with an empty slot.
func (t *indexTable) find(k fkey) (b uint64, s int, ok bool, read uint64) {
	h := home(k.head, t.buckets)
	s, found, more := t.scan(h, k)
	if found {
		return h, s, true, 1
	}
	if !more {
		return 0, 0, false, 1
	}
	sum := t.summary(h)
	if !spilled(sum, k.sig()) {
		return 0, 0, false, 1
	}
	reach := sum & reachMask
	for b, i := h, uint64(1); ; i++ {
		if b++; b == t.buckets {
			b = 0
		}
		s, found, more = t.scan(b, k)
		if found {
			return b, s, true, i + 1
		}
		if !more || (i == reach && reach < farReach) {
			return 0, 0, false, i + 1
		}
	}
}

// scan looks for k in bucket b: it returns k's slot and true, or false and
// whether the bucket is full (so that k may be further on).
func (t *indexTable) scan(b uint64, k fkey) (s int, found, full bool) {
	w := b * bucketWords
	for s = range bucketSlots {
		head := t.words[w+uint64(s)].Load()
		if head == 0 {
			return 0, false, false
		}
		if head == k.head && uint32(t.field(b, s)>>codeBits) == k.tag {
			return s, true, false
		}
	}
	return 0, false, true
}

// summary returns bucket b's spill summary (see summaryShift).
func (t *indexTable) summary(b uint64) uint64 {
	return t.words[b*bucketWords+summaryWord].Load() >> summaryShift
}

// spilled reports whether a spill summary allows that an entry whose
// signature is sig went past its bucket: its overflow bit is set, or one
// of its signature bytes is sig (a zero byte of their XOR, found without a
// branch per byte).
func spilled(sum, sig uint64) bool {
	const ones, highs = 0x0101_0101_0101, 0x8080_8080_8080
	x := sum>>sigsShift ^ sig*ones
	return sum&overflowBit != 0 || (x-ones)&^x&highs != 0
}

// insert puts k, which t does not hold, in the first free slot from its
// home bucket on: its field first, then the head that publishes it.
// Writers only; t has room.
func (t *indexTable) insert(k fkey, code uint32) {
	h := home(k.head, t.buckets)
	for b, i := h, uint64(0); ; i++ {
		w := b * bucketWords
		for s := range bucketSlots {
			if t.words[w+uint64(s)].Load() == 0 {
				if i > 0 {
					t.noteSpill(h, i, k.sig())
				}
				t.setField(b, s, uint64(k.tag)<<codeBits|uint64(code))
				t.words[w+uint64(s)].Store(k.head)
				t.count++
				return
			}
		}
		if b++; b == t.buckets {
			b = 0
		}
	}
}

// noteSpill records in home bucket h's spill summary an entry whose
// signature is sig put i > 0 buckets past it, before the entry is
// published, so that a reader that could see the entry also sees the
// summary that leads to it. Writers only.
func (t *indexTable) noteSpill(h, i, sig uint64) {
	sum := t.summary(h)
	next := sum&^reachMask | max(sum&reachMask, min(i, farReach))
	if !spilled(sum, sig) {
		n := 0
		for sigs := sum >> sigsShift; sigs != 0; sigs >>= 8 {
			n++
		}
		if n < spillSigs {
			next |= sig << (sigsShift + 8*n)
		} else {
			next |= overflowBit
		}
	}
	if next == sum {
		return
	}
	last := &t.words[h*bucketWords+summaryWord]
	last.Store(last.Load()&(1<<summaryShift-1) | next<<summaryShift)
}

// each calls fn with every entry of t. Writers only.
func (t *indexTable) each(fn func(k fkey, code uint32)) {
	for b := range t.buckets {
		w := b * bucketWords
		for s := range bucketSlots {
			head := t.words[w+uint64(s)].Load()
			if head == 0 {
				break
			}
			f := t.field(b, s)
			fn(fkey{head: head, tag: uint32(f >> codeBits)}, uint32(f&codeMask))
		}
	}
}

// rebuilt returns a new table with t's entries whose code is at least cut,
// sized for them and extra more at fillPct.
func (t *indexTable) rebuilt(cut uint32, extra, fillPct int) *indexTable {
	keep := t.count
	if cut > 0 {
		keep = 0
		t.each(func(_ fkey, code uint32) {
			if code >= cut {
				keep++
			}
		})
	}
	nt := newTable(keep+extra, fillPct)
	t.each(func(k fkey, code uint32) {
		if code >= cut {
			nt.insert(k, code)
		}
	})
	return nt
}

// add puts rev in the index; adding an ID already there keeps the later
// expiry. It reports whether the index changed: the ID is new, or its
// expiry moved.
func (ix *index) add(rev Revocation) bool {
	k, code := keyOf(&rev.ID), ix.code(rev.ExpiresAt)
	s := ix.shard(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if ix.loading {
		s.collect(k, code)
		return true
	}
	isNew, changed := s.put(k, code, &ix.expiring)
	if isNew {
		ix.count.Add(1)
	}
	return changed
}

// expiryCounts counts an index's entries by expiry code.
type expiryCounts = [codeMask + 1]atomic.Int64

// put files k under the shard and reports whether it was new, and whether
// it changed the index (new, or a later expiry). The shard's lock is held.
func (s *indexShard) put(k fkey, code uint32, counts *expiryCounts) (isNew, changed bool) {
	t := s.tab.Load()
	if t == nil {
		t = newTable(1, growFillPct)
		s.tab.Store(t)
	}
	if b, i, ok, _ := t.find(k); ok {
		f := t.field(b, i)
		old := uint32(f & codeMask)
		if code <= old {
			return false, false
		}
		t.setField(b, i, f&^codeMask|uint64(code))
		counts[old].Add(-1)
		counts[code].Add(1)
		return false, true
	}
	if t.full() {
		t = t.rebuilt(0, 1, growFillPct)
		s.tab.Store(t)
	}
	t.insert(k, code)
	counts[code].Add(1)
	return true, true
}
