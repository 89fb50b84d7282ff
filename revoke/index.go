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
// The fingerprints are spread over indexShards shards by their first bits,
// and each shard is a hash table of 64-byte buckets of five slots, probed
// linearly from the home bucket: a lookup reads one cache line, seldom two.
// A table is filled to at most 93% of its slots and rebuilt at about 82%
// when it grows, so its buckets take 13.8 to 15.6 bytes per entry.
//
// Readers take no lock and write nothing: they load the shard's table and
// its words atomically. An entry's fields are written before the word that
// publishes it, and it never moves within a table: it leaves only when its
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
	// instead of inserting them, to build each table once (see load.go).
	loading bool
}

const (
	indexShardBits = 10
	indexShards    = 1 << indexShardBits

	bucketSlots = 5
	bucketWords = 8 // 5 fingerprint heads, then 3 words of 5 packed fields
	fieldsWord  = bucketSlots
	tagBits     = 22
	codeBits    = 16
	fieldBits   = tagBits + codeBits
	fieldMask   = 1<<fieldBits - 1
	codeMask    = 1<<codeBits - 1
	// A bucket's reach is the two bits of its last word above its five
	// fields: how many buckets past it the farthest entry whose home it is
	// went, found it full (0 to 2), or farReach for 3 or more. A lookup
	// that does not find its key stops after its home bucket's reach, or,
	// for farReach, at the first bucket with an empty slot.
	reachShift = bucketSlots*fieldBits - 128
	reachWord  = fieldsWord + 2
	farReach   = 3
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
	// (its first 8 bytes; 0 for an empty slot); the last three words hold
	// the slots' fields, fieldBits each: the tag (the next 3 bytes) above
	// the expiry code.
	words   []atomic.Uint64
	buckets uint64
	count   int // writers only
}

// fkey is an ID's fingerprint as the index keeps it.
type fkey struct {
	head uint64 // never 0
	tag  uint32
}

// keyOf returns the fingerprint of id.
func keyOf(id *ID) fkey {
	head := binary.BigEndian.Uint64(id[:8])
	if head == 0 {
		head = 1 // 0 marks an empty slot
	}
	return fkey{head: head, tag: (uint32(id[8])<<16 | uint32(id[9])<<8 | uint32(id[10])) >> (24 - tagBits)}
}

// id returns an ID holding k's fingerprint, the rest zero.
func (k fkey) id() ID {
	var id ID
	binary.BigEndian.PutUint64(id[:8], k.head)
	tag := k.tag << (24 - tagBits)
	id[8], id[9], id[10] = byte(tag>>16), byte(tag>>8), byte(tag)
	return id
}

func (ix *index) shard(head uint64) *indexShard {
	return &ix.shards[head>>(64-indexShardBits)]
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

// containsKey reports whether k is in the index. It probes from k's home
// bucket to the first bucket with an empty slot (entries fill a bucket's
// slots in order and never leave a table, so k is not further on), or
// only as far as the home bucket's reach (the farthest any entry of that
// home went) when that is less than farReach.
func (ix *index) containsKey(k fkey) bool {
	t := ix.shard(k.head).tab.Load()
	if t == nil {
		return false
	}
	_, _, ok := t.find(k)
	return ok
}

// find returns the bucket and slot holding k (see containsKey).
func (t *indexTable) find(k fkey) (b uint64, s int, ok bool) {
	h := home(k.head, t.buckets)
	reach := t.reach(h)
	for b, i := h, uint64(0); ; i++ {
		w := b * bucketWords
		for s = range bucketSlots {
			head := t.words[w+uint64(s)].Load()
			if head == 0 {
				return 0, 0, false
			}
			if head == k.head && uint32(t.field(b, s)>>codeBits) == k.tag {
				return b, s, true
			}
		}
		if i == reach && reach < farReach {
			return 0, 0, false
		}
		if b++; b == t.buckets {
			b = 0
		}
	}
}

// reach returns bucket b's reach (see reachShift).
func (t *indexTable) reach(b uint64) uint64 {
	return t.words[b*bucketWords+reachWord].Load() >> reachShift & farReach
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
				t.extendReach(h, i)
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

// extendReach raises home bucket h's reach to cover an entry put i
// buckets past it, before the entry is published, so that a reader that
// could see the entry also sees the reach that leads to it. Writers only.
func (t *indexTable) extendReach(h, i uint64) {
	i = min(i, farReach)
	if i <= t.reach(h) {
		return
	}
	last := &t.words[h*bucketWords+reachWord]
	last.Store(last.Load()&^(farReach<<reachShift) | i<<reachShift)
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
	s := ix.shard(k.head)
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
	if b, i, ok := t.find(k); ok {
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
