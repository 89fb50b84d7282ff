package revoke

// loadChunkLen is how many entries a chunk of a shard's load buffer holds:
// a chunk and its count fill 2,048 bytes, an allocation size class.
const loadChunkLen = 127

// loadChunk buffers entries collected while the index is loading, as
// fingerprint head and field.
type loadChunk struct {
	n       int
	entries [loadChunkLen][2]uint64
}

// beginLoad makes add collect entries per shard until endLoad builds each
// shard's table once, at its final size: a load of millions of entries then
// costs no table growth, and its peak memory is the buffers (16 bytes an
// entry), not two generations of a table. Nothing may call contains while
// the index loads (New, before it returns the Revoker).
func (ix *index) beginLoad() { ix.loading = true }

// collect buffers k with code. The shard's lock is held.
func (s *indexShard) collect(k fkey, code uint32) {
	if len(s.pending) == 0 || s.pending[len(s.pending)-1].n == loadChunkLen {
		s.pending = append(s.pending, new(loadChunk))
	}
	c := s.pending[len(s.pending)-1]
	c.entries[c.n] = [2]uint64{k.head, uint64(k.tag)<<codeBits | uint64(code)}
	c.n++
}

// endLoad builds the tables from what beginLoad collected, a shard at a
// time, dropping each shard's buffers as its table is built: what the index
// holds stays within its buffers (16 bytes an entry) and one shard's table
// more, though the runtime frees the dropped buffers only at its next
// collection.
func (ix *index) endLoad() {
	for k := range ix.shards {
		ix.count.Add(int64(ix.shards[k].build(&ix.expiring)))
	}
	ix.loading = false
}

// build adds the shard's buffered entries to its table, rebuilt to hold
// them at loadFillPct, and returns how many were new.
func (s *indexShard) build(counts *expiryCounts) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i := range s.pending {
		n += s.pending[i].n
	}
	if n == 0 {
		return 0
	}
	t := s.tab.Load()
	if t == nil {
		t = newTable(n, loadFillPct)
	} else {
		t = t.rebuilt(0, n, loadFillPct)
	}
	before := t.count
	for i := range s.pending {
		c := s.pending[i]
		for _, e := range c.entries[:c.n] {
			k, code := fkey{head: e[0], tag: uint32(e[1] >> codeBits)}, uint32(e[1]&codeMask)
			if b, j, ok, _ := t.find(k); ok {
				if f := t.field(b, j); code > uint32(f&codeMask) {
					t.setField(b, j, f&^codeMask|uint64(code))
					counts[f&codeMask].Add(-1)
					counts[code].Add(1)
				}
				continue
			}
			t.insert(k, code)
			counts[code].Add(1)
		}
	}
	s.pending = nil
	s.tab.Store(t)
	return t.count - before
}
