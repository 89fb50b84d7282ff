package bolt

import (
	"sync/atomic"
	"time"
)

// readTxAge is how long a bbolt read transaction serves Views before it is
// rolled back. Kept short, an open read transaction delays a remap of the
// file (which waits for every read transaction) by this much at most.
const readTxAge = time.Millisecond

// readTxSlots is how many idle read transactions the cache keeps.
const readTxSlots = 8

// readTx is a bbolt read transaction of the tree, kept open for the Views
// of one generation of the overlay (see overlay.gen), one View at a time.
type readTx struct {
	t     *tx
	gen   uint64
	born  time.Time
	reuse bool // false when the generation changed while it began
}

// readTxCache keeps the bbolt read transactions of the layered store that
// Views have finished with, so that the next Views reuse them rather than
// each begin and roll back one: both take bbolt's metadata mutex, which
// concurrent readers otherwise queue on. A transaction serves one View at
// a time (bbolt's transactions are not for concurrent use); one taken from
// a slot is its taker's alone. A transaction is reused only within the
// overlay's generation it began in, when the tree is what it sees, and
// only while younger than readTxAge; a timer rolls back those left idle.
type readTxCache struct {
	slots    [readTxSlots]atomic.Pointer[readTx]
	sweeping atomic.Bool
}

// get returns an idle transaction of generation gen younger than
// readTxAge, nil if there is none, rolling back the older ones it finds.
func (c *readTxCache) get(gen uint64, now time.Time) *readTx {
	for i := range c.slots {
		if c.slots[i].Load() == nil {
			continue
		}
		rt := c.slots[i].Swap(nil)
		if rt == nil {
			continue
		}
		if rt.reuse && rt.gen == gen && now.Sub(rt.born) < readTxAge {
			return rt
		}
		_ = rt.t.btx.Rollback()
	}
	return nil
}

// put keeps rt for the next View, or rolls it back when it is too old or
// the cache is full.
func (c *readTxCache) put(rt *readTx, now time.Time) {
	if rt.reuse && now.Sub(rt.born) < readTxAge {
		for i := range c.slots {
			if c.slots[i].CompareAndSwap(nil, rt) {
				c.schedule()
				return
			}
		}
	}
	_ = rt.t.btx.Rollback()
}

// schedule arms the sweep, unless it is armed.
func (c *readTxCache) schedule() {
	if c.sweeping.CompareAndSwap(false, true) {
		time.AfterFunc(2*readTxAge, c.sweep)
	}
}

// sweep rolls back the idle transactions older than readTxAge, and arms
// itself again while younger ones are left.
func (c *readTxCache) sweep() {
	c.sweeping.Store(false)
	now := time.Now()
	left := false
	for i := range c.slots {
		rt := c.slots[i].Load()
		switch {
		case rt == nil:
		case now.Sub(rt.born) < readTxAge:
			left = true
		case c.slots[i].CompareAndSwap(rt, nil):
			_ = rt.t.btx.Rollback()
		}
	}
	if left {
		c.schedule()
	}
}

// drain rolls back every idle transaction. No View may be under way.
func (c *readTxCache) drain() {
	for i := range c.slots {
		if rt := c.slots[i].Swap(nil); rt != nil {
			_ = rt.t.btx.Rollback()
		}
	}
}
