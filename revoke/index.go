package revoke

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// index is the in-process set of revoked token IDs that IsRevoked consults.
// It is sharded to keep writers apart, and each shard is an open-addressing
// table keyed by the token's CRC-32C: a token that is not revoked is usually
// ruled out by its checksum alone, without computing SHA-256. A checksum
// match is confirmed against the full SHA-256 ID, so a collision never
// reports a live token revoked.
//
// Readers take no lock and write nothing: they load the shard's table and
// its slots atomically, so IsRevoked scales across cores without cache
// lines bouncing between them. Writers (Revoke, the follower, Purge)
// serialize per shard. An entry is written before the slot that points to
// it is published and is never changed or reused afterwards; a removal
// turns the slot into a tombstone; growth and compaction build a new table
// and publish it whole, while readers finish on the one they loaded.
//
// Memory per revoked token: a 36-byte entry plus an 8-byte slot at a load
// factor of at most 7/8, and at least 1/4 after growth.
type index struct {
	shards [indexShards]indexShard
	count  atomic.Int64 // entries, for Stats
	// unchecked holds the revocations whose Check is 0: records whose
	// checksum the Revoker did not compute (imported from outside), which
	// it therefore cannot trust to find the token by. It is keyed by the
	// ID's first four bytes instead, and consulted by ID, computing
	// SHA-256, only while it holds an entry (see uncheckedKey).
	unchecked atomic.Pointer[index]
}

const (
	indexShardBits = 6
	indexShards    = 1 << indexShardBits
	indexMinSlots  = 16
	chunkBits      = 8
	chunkLen       = 1 << chunkBits
	// tombstone marks a slot whose entry was removed. No entry has this
	// position.
	tombstone = math.MaxUint64
)

type indexShard struct {
	mu  sync.Mutex // held by writers
	tab atomic.Pointer[indexTable]
	_   [64 - unsafe.Sizeof(sync.Mutex{}) - unsafe.Sizeof(atomic.Pointer[indexTable]{})]byte
}

// indexTable is one generation of a shard's table.
type indexTable struct {
	// slots holds checksum<<32 | (position + 1), 0 for empty, or
	// tombstone.
	slots []atomic.Uint64
	// chunks holds the entries by position, chunkLen to a chunk, allocated
	// as positions are handed out.
	chunks []atomic.Pointer[indexChunk]
	// Writers only:
	next uint32 // next position to hand out; positions are never reused
	live int    // slots holding an entry
	dead int    // tombstones
}

type indexChunk [chunkLen]indexEntry

type indexEntry struct {
	id  ID
	exp uint32 // expiry, Unix seconds rounded up; writers only
}

// mix spreads a checksum over 64 bits: the top bits pick the shard, the
// next ones the home slot.
func mix(check uint32) uint64 { return uint64(check) * 0x9E3779B97F4A7C15 }

func (ix *index) shard(check uint32) *indexShard {
	return &ix.shards[mix(check)>>(64-indexShardBits)]
}

func home(check uint32, mask uint64) uint64 {
	return (mix(check) >> (64 - indexShardBits - 32)) & mask
}

// expSeconds is t in Unix seconds, rounded up and clamped to uint32.
func expSeconds(t time.Time) uint32 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	switch {
	case s < 0:
		return 0
	case s > math.MaxUint32:
		return math.MaxUint32
	}
	return uint32(s)
}

// newTable returns an empty table of n slots (a power of two), with room
// for the entries n slots may hold.
func newTable(n int) *indexTable {
	return &indexTable{
		slots:  make([]atomic.Uint64, n),
		chunks: make([]atomic.Pointer[indexChunk], (maxFill(n)+chunkLen-1)/chunkLen),
	}
}

// maxFill is how many slots of n may be in use, live or tombstones.
func maxFill(n int) int { return n / 8 * 7 }

func (t *indexTable) entry(pos uint32) *indexEntry {
	return &t.chunks[pos>>chunkBits].Load()[pos&(chunkLen-1)]
}

// contains reports whether the token whose checksum is check is in the
// index. It hashes token only when a slot's checksum matches, or while the
// index holds revocations without a trusted checksum.
func (ix *index) contains(check uint32, token string) bool {
	if ix.containsChecked(check, token) {
		return true
	}
	u := ix.unchecked.Load()
	if u == nil || u.count.Load() == 0 {
		return false
	}
	id := TokenID(token)
	return u.containsID(uncheckedKey(id), id)
}

// uncheckedKey is what the unchecked index files an ID under in place of a
// checksum.
func uncheckedKey(id ID) uint32 {
	return uint32(id[0])<<24 | uint32(id[1])<<16 | uint32(id[2])<<8 | uint32(id[3])
}

// containsID reports whether id, filed under key, is in the index.
func (ix *index) containsID(key uint32, id ID) bool {
	t := ix.shard(key).tab.Load()
	return t != nil && t.slotOf(key, id) >= 0
}

// containsChecked is contains without the unchecked index.
func (ix *index) containsChecked(check uint32, token string) bool {
	t := ix.shard(check).tab.Load()
	if t == nil {
		return false
	}
	mask := uint64(len(t.slots) - 1)
	var id ID
	hashed := false
	for i := home(check, mask); ; i = (i + 1) & mask {
		v := t.slots[i].Load()
		if v == 0 {
			return false
		}
		if v == tombstone || uint32(v>>32) != check {
			continue
		}
		if !hashed {
			id = TokenID(token)
			hashed = true
		}
		if t.entry(uint32(v)-1).id == id {
			return true
		}
	}
}

// slotOf returns the slot holding id, or -1. Writers only.
func (t *indexTable) slotOf(check uint32, id ID) int {
	mask := uint64(len(t.slots) - 1)
	for i := home(check, mask); ; i = (i + 1) & mask {
		v := t.slots[i].Load()
		if v == 0 {
			return -1
		}
		if v != tombstone && uint32(v>>32) == check && t.entry(uint32(v)-1).id == id {
			return int(i)
		}
	}
}

// add puts rev in the index; adding an ID already there keeps the later
// expiry. A revocation whose Check is 0 goes to the unchecked index. It
// reports whether the index changed: the ID is new, or its expiry moved.
func (ix *index) add(rev Revocation) bool {
	if rev.Check == 0 {
		u := ix.unchecked.Load()
		if u == nil {
			ix.unchecked.CompareAndSwap(nil, new(index))
			u = ix.unchecked.Load()
		}
		isNew, changed := u.put(uncheckedKey(rev.ID), rev)
		if isNew {
			u.count.Add(1)
			ix.count.Add(1)
		}
		return changed
	}
	isNew, changed := ix.put(rev.Check, rev)
	if isNew {
		ix.count.Add(1)
	}
	return changed
}

// put files rev under key and reports whether it was new, and whether it
// changed the index (new, or a later expiry).
func (ix *index) put(key uint32, rev Revocation) (isNew, changed bool) {
	rev.Check = key
	s := ix.shard(rev.Check)
	exp := expSeconds(rev.ExpiresAt)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tab.Load()
	if t == nil {
		t = newTable(indexMinSlots)
		s.tab.Store(t)
	}
	if i := t.slotOf(rev.Check, rev.ID); i >= 0 {
		e := t.entry(uint32(t.slots[i].Load()) - 1)
		if exp <= e.exp {
			return false, false
		}
		e.exp = exp
		return false, true
	}
	if t.live+t.dead+1 > maxFill(len(t.slots)) {
		t = t.rebuild(t.live + 1)
		s.tab.Store(t)
	}
	t.put(rev.Check, indexEntry{id: rev.ID, exp: exp})
	return true, true
}

// put stores e in a new position and publishes its slot. Writers only; the
// table has room.
func (t *indexTable) put(check uint32, e indexEntry) {
	pos := t.next
	t.next++
	c := t.chunks[pos>>chunkBits].Load()
	if c == nil {
		c = new(indexChunk)
		t.chunks[pos>>chunkBits].Store(c)
	}
	c[pos&(chunkLen-1)] = e
	mask := uint64(len(t.slots) - 1)
	i := home(check, mask)
	for t.slots[i].Load() != 0 {
		i = (i + 1) & mask
	}
	t.slots[i].Store(uint64(check)<<32 | uint64(pos+1))
	t.live++
}

// rebuild returns a new table holding t's live entries, sized for want
// entries at a load factor of at most one half.
func (t *indexTable) rebuild(want int) *indexTable {
	n := indexMinSlots
	for n < 2*want {
		n *= 2
	}
	nt := newTable(n)
	for i := range t.slots {
		if v := t.slots[i].Load(); v != 0 && v != tombstone {
			nt.put(uint32(v>>32), *t.entry(uint32(v) - 1))
		}
	}
	return nt
}

// sweep removes the entries that expired before t and returns how many.
func (ix *index) sweep(t time.Time) int {
	removed := ix.sweepShards(t)
	if u := ix.unchecked.Load(); u != nil {
		n := u.sweepShards(t)
		u.count.Add(-int64(n))
		removed += n
	}
	ix.count.Add(-int64(removed))
	return removed
}

// sweepShards removes the entries of the shards that expired before t and
// returns how many, leaving count to the caller.
func (ix *index) sweepShards(t time.Time) int {
	cut := expSeconds(t)
	removed := 0
	for k := range ix.shards {
		s := &ix.shards[k]
		s.mu.Lock()
		if tab := s.tab.Load(); tab != nil {
			for i := range tab.slots {
				v := tab.slots[i].Load()
				if v != 0 && v != tombstone && tab.entry(uint32(v)-1).exp < cut {
					tab.slots[i].Store(tombstone)
					tab.live--
					tab.dead++
					removed++
				}
			}
			// Compact once tombstones outnumber the live entries.
			if tab.dead > tab.live {
				s.tab.Store(tab.rebuild(tab.live))
			}
		}
		s.mu.Unlock()
	}
	return removed
}
