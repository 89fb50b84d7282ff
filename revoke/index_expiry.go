package revoke

import "time"

// floorCode is t as an expiry code rounded down: an entry whose code is
// below it expired before t.
func (ix *index) floorCode(t time.Time) uint32 {
	base := ix.base.Load()
	s := t.Unix() - base
	switch {
	case base == 0 || s <= 0:
		return 0
	case s >= codeMask*expUnit:
		return codeMask
	}
	return uint32(s / expUnit)
}

// sweep drops the entries that expired before t, to the index's resolution
// (expUnit), once they are at least a quarter of the entries, and returns
// how many it dropped. It rebuilds each shard's table without them, at the
// size its live entries need, so their memory is freed. Until expired
// entries reach a quarter it does nothing but add up the counts by expiry,
// so the work of dropping entries is proportional to the entries dropped,
// not to the live ones; an expired entry still held is reported revoked,
// which is harmless since its token has expired. Memory thus follows a
// sawtooth: it grows by at most a third over the live entries before a
// sweep brings it back.
func (ix *index) sweep(t time.Time) int {
	cut := ix.floorCode(t)
	expired := int64(0)
	for c := range cut {
		expired += ix.expiring[c].Load()
	}
	if expired == 0 || expired*4 < ix.count.Load() {
		return 0
	}
	removed := 0
	for k := range ix.shards {
		removed += ix.shards[k].sweep(cut, &ix.expiring)
	}
	ix.count.Add(-int64(removed))
	return removed
}

// sweep rebuilds the shard's table without the entries whose code is below
// cut, and returns how many it dropped.
func (s *indexShard) sweep(cut uint32, counts *expiryCounts) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tab.Load()
	if t == nil {
		return 0
	}
	t.each(func(_ fkey, code uint32) {
		if code < cut {
			counts[code].Add(-1)
		}
	})
	nt := t.rebuilt(cut, 0, growFillPct)
	if nt.count == 0 {
		s.tab.Store(nil)
		return t.count
	}
	s.tab.Store(nt)
	return t.count - nt.count
}
