package revoke

// eachBatch calls fn with the entries of the index in batches of at most
// len(buf), holding no lock while fn runs. An entry is a Revocation whose
// ID holds the fingerprint the index keeps (the ID's first FingerprintSize
// bytes but the last two bits, the rest zero), whose ExpiresAt is its expiry rounded up to the
// index's resolution, and no Check or Seq. It reads a shard a batch at a
// time under the shard's lock; when the shard's table was replaced between
// two batches (grown or swept), it reads that shard again from its start.
// Every entry present throughout the call is passed to fn at least once;
// one added or removed meanwhile may or may not be.
func (ix *index) eachBatch(buf []Revocation, fn func([]Revocation) error) error {
	for k := range ix.shards {
		s := &ix.shards[k]
		var tab *indexTable
		var next uint64 // the slot of tab the next batch starts at
		for {
			s.mu.Lock()
			if t := s.tab.Load(); t != tab {
				tab, next = t, 0
			}
			n := 0
			if tab != nil {
				n, next = ix.collectSlots(uint32(k), tab, next, buf)
			}
			done := tab == nil || next == tab.buckets*bucketSlots
			s.mu.Unlock()
			if n > 0 {
				if err := fn(buf[:n]); err != nil {
					return err
				}
			}
			if done {
				break
			}
		}
	}
	return nil
}

// collectSlots copies the entries of t's slots from slot from on into buf,
// until buf is full or the slots end, and returns how many it copied and
// the slot to go on from. The lock of t's shard, shard, is held.
func (ix *index) collectSlots(shard uint32, t *indexTable, from uint64, buf []Revocation) (n int, next uint64) {
	i := from
	for ; i < t.buckets*bucketSlots && n < len(buf); i++ {
		b, s := i/bucketSlots, int(i%bucketSlots)
		head := t.words[b*bucketWords+uint64(s)].Load()
		if head == 0 {
			continue
		}
		f := t.field(b, s)
		buf[n] = Revocation{ID: fkey{head: head, tag: uint32(f >> codeBits), shard: shard}.id(), ExpiresAt: ix.expiry(uint32(f & codeMask))}
		n++
	}
	return n, i
}
