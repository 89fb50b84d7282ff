package revoke

import (
	"math"
	"sync"
	"time"
	"unsafe"
)

// index is the in-process set of revoked token IDs that IsRevoked consults.
// It is sharded to keep readers on different tokens off each other's cache
// lines, and each shard is an open-addressing table keyed by the token's
// CRC-32C: a token that is not revoked is usually ruled out by its checksum
// alone, without computing SHA-256. A checksum match is confirmed against
// the full SHA-256 ID, so a collision never reports a live token revoked.
//
// Memory per revoked token: a 36-byte entry plus an 8-byte slot at a load
// factor between 7/16 and 7/8.
type index struct {
	shards [indexShards]indexShard
}

const (
	indexShardBits = 6
	indexShards    = 1 << indexShardBits
	indexMinSlots  = 16
	// indexShardSize is the size of indexShard's fields, for its padding.
	indexShardSize = unsafe.Sizeof(sync.RWMutex{}) + 3*unsafe.Sizeof([]byte(nil)) + unsafe.Sizeof(0)
)

type indexShard struct {
	mu sync.RWMutex
	// slots holds checksum<<32 | (position in ents + 1); 0 is empty.
	slots []uint64
	ents  []indexEntry
	free  []uint32 // positions in ents that removals left empty
	n     int
	_     [128 - indexShardSize%128]byte // keeps shards on separate cache lines
}

type indexEntry struct {
	id  ID
	exp uint32 // expiry, Unix seconds rounded up
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

// contains reports whether the token whose checksum is check is in the
// index. It hashes token only when a slot's checksum matches.
func (ix *index) contains(check uint32, token string) bool {
	s := ix.shard(check)
	s.mu.RLock()
	found := s.find(check, token)
	s.mu.RUnlock()
	return found
}

func (s *indexShard) find(check uint32, token string) bool {
	if len(s.slots) == 0 {
		return false
	}
	mask := uint64(len(s.slots) - 1)
	var id ID
	hashed := false
	for i := home(check, mask); ; i = (i + 1) & mask {
		v := s.slots[i]
		if v == 0 {
			return false
		}
		if uint32(v>>32) != check {
			continue
		}
		if !hashed {
			id = TokenID(token)
			hashed = true
		}
		if s.ents[uint32(v)-1].id == id {
			return true
		}
	}
}

// slotOf returns the slot holding id, or -1.
func (s *indexShard) slotOf(check uint32, id ID) int {
	if len(s.slots) == 0 {
		return -1
	}
	mask := uint64(len(s.slots) - 1)
	for i := home(check, mask); ; i = (i + 1) & mask {
		v := s.slots[i]
		if v == 0 {
			return -1
		}
		if uint32(v>>32) == check && s.ents[uint32(v)-1].id == id {
			return int(i)
		}
	}
}

// add puts rev in the index; adding an ID already there keeps the later
// expiry.
func (ix *index) add(rev Revocation) {
	s := ix.shard(rev.Check)
	exp := expSeconds(rev.ExpiresAt)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.slotOf(rev.Check, rev.ID); i >= 0 {
		e := &s.ents[uint32(s.slots[i])-1]
		e.exp = max(e.exp, exp)
		return
	}
	if (s.n+1)*8 > len(s.slots)*7 {
		s.grow()
	}
	var pos uint32
	if k := len(s.free); k > 0 {
		pos = s.free[k-1]
		s.free = s.free[:k-1]
		s.ents[pos] = indexEntry{id: rev.ID, exp: exp}
	} else {
		pos = uint32(len(s.ents))
		s.ents = append(s.ents, indexEntry{id: rev.ID, exp: exp})
	}
	s.insert(uint64(rev.Check)<<32 | uint64(pos+1))
	s.n++
}

func (s *indexShard) insert(v uint64) {
	mask := uint64(len(s.slots) - 1)
	i := home(uint32(v>>32), mask)
	for s.slots[i] != 0 {
		i = (i + 1) & mask
	}
	s.slots[i] = v
}

func (s *indexShard) grow() {
	old := s.slots
	s.slots = make([]uint64, max(indexMinSlots, 2*len(old)))
	for _, v := range old {
		if v != 0 {
			s.insert(v)
		}
	}
}

// removeSlot empties slot i and shifts later entries of its probe run back
// so that no lookup stops early (backward-shift deletion).
func (s *indexShard) removeSlot(i uint64) {
	mask := uint64(len(s.slots) - 1)
	pos := uint32(s.slots[i]) - 1
	s.ents[pos] = indexEntry{}
	s.free = append(s.free, pos)
	s.n--
	for j := (i + 1) & mask; ; j = (j + 1) & mask {
		v := s.slots[j]
		if v == 0 {
			break
		}
		h := home(uint32(v>>32), mask)
		// v may move to i unless its home lies cyclically in (i, j].
		if (j > i && (h <= i || h > j)) || (j < i && h <= i && h > j) {
			s.slots[i] = v
			i = j
		}
	}
	s.slots[i] = 0
}

// sweep removes the entries that expired before t and returns how many.
func (ix *index) sweep(t time.Time) int {
	cut := expSeconds(t)
	removed := 0
	var doomed []uint64
	for k := range ix.shards {
		s := &ix.shards[k]
		s.mu.Lock()
		doomed = doomed[:0]
		for _, v := range s.slots {
			if v != 0 && s.ents[uint32(v)-1].exp < cut {
				doomed = append(doomed, v)
			}
		}
		for _, v := range doomed {
			check := uint32(v >> 32)
			if i := s.slotOf(check, s.ents[uint32(v)-1].id); i >= 0 {
				s.removeSlot(uint64(i))
				removed++
			}
		}
		s.mu.Unlock()
	}
	return removed
}
