package revoke

import "time"

// eachBatch calls fn with the entries of the index, unchecked ones with
// Check 0, in batches of at most len(buf), holding no lock while fn runs.
// It reads a shard a batch at a time under the shard's lock; when the
// shard's table was replaced between two batches (grown or compacted), it
// reads that shard again from its start, since the slots moved. Every entry
// present throughout the call is passed to fn at least once; one added or
// removed meanwhile may or may not be.
func (ix *index) eachBatch(buf []Revocation, fn func([]Revocation) error) error {
	if err := ix.eachBatchShards(false, buf, fn); err != nil {
		return err
	}
	if u := ix.unchecked.Load(); u != nil {
		return u.eachBatchShards(true, buf, fn)
	}
	return nil
}

func (ix *index) eachBatchShards(unchecked bool, buf []Revocation, fn func([]Revocation) error) error {
	for k := range ix.shards {
		s := &ix.shards[k]
		var tab *indexTable
		next := 0 // the slot of tab the next batch starts at
		for {
			s.mu.Lock()
			if t := s.tab.Load(); t != tab {
				tab, next = t, 0
			}
			n := 0
			if tab != nil {
				n, next = tab.collect(next, unchecked, buf)
			}
			done := tab == nil || next == len(tab.slots)
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

// collect copies the entries of the slots from the slot from on into buf,
// until buf is full or the slots end, and returns how many it copied and
// the slot to go on from. Writers only (the shard's lock is held).
func (t *indexTable) collect(from int, unchecked bool, buf []Revocation) (n, next int) {
	i := from
	for ; i < len(t.slots) && n < len(buf); i++ {
		v := t.slots[i].Load()
		if v == 0 || v == tombstone {
			continue
		}
		e := t.entry(uint32(v) - 1)
		check := uint32(v >> 32)
		if unchecked {
			check = 0
		}
		buf[n] = Revocation{ID: e.id, Check: check, ExpiresAt: time.Unix(int64(e.exp), 0).UTC()}
		n++
	}
	return n, i
}
