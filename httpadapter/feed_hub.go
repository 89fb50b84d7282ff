package httpadapter

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/sdkauth/revocation/revoke"
)

// hubBurst is the most entries the hub reads and encodes for one burst.
const hubBurst = 8 * feedBatch

// hubLead is how far, in positions, the hub's newest burst may be ahead of
// a stream riding its chain before the stream leaves the chain and reads
// the change log itself (releasing the bursts it held).
const hubLead = 16 * feedBatch

// feedHub reads each change of the Revoker's change log once for every
// stream of a feed handler: one goroutine waits for the changes, copies
// them out of the log and encodes their frames, once, into a burst; the
// streams caught up with it write that burst as it is. So a revocation
// wakes one goroutine (the hub) in the revoking goroutine, and takes the
// change log's lock once, whatever the number of followers.
type feedHub struct {
	rv     *revoke.Revoker
	once   sync.Once
	latest atomic.Pointer[hubBurstFrames]
}

// hubBurstFrames is the frames of the changes after position from up to
// to: their entries frames and a sync frame at to, read-only once
// published; none when from equals to. Bursts form a chain: next is set,
// and then done closed, when the hub publishes the following one.
type hubBurstFrames struct {
	from, to uint64
	frames   []byte
	entries  int   // length of the entries frames, before the sync frame
	err      error // the hub could not read the log at from (it stops, or skips ahead)
	done     chan struct{}
	next     *hubBurstFrames
}

// start starts the hub's goroutine on the first call; it runs until the
// Revoker closes. It returns the newest burst.
func (h *feedHub) start() *hubBurstFrames {
	h.once.Do(func() {
		_, head := h.rv.ChangeRange()
		h.latest.Store(&hubBurstFrames{from: head, to: head, done: make(chan struct{})})
		go h.run()
	})
	return h.latest.Load()
}

// run publishes a burst each time the change log grows, until the Revoker
// closes.
func (h *feedHub) run() {
	cur := h.latest.Load()
	buf := make([]revoke.Revocation, feedBatch)
	for {
		<-h.rv.ChangeNotify(cur.to) // a change after cur.to, or closed
		nb := h.read(cur.to, buf)
		cur.next = nb
		h.latest.Store(nb)
		close(cur.done)
		if nb.err != nil && !errors.Is(nb.err, revoke.ErrChangesGone) {
			return // closed
		}
		if nb.err != nil {
			// Fallen out of the log: carry on from its head; the streams at
			// cur.to end and their followers reconnect.
			_, head := h.rv.ChangeRange()
			nb = &hubBurstFrames{from: head, to: head, done: make(chan struct{})}
			h.latest.Store(nb)
		}
		cur = nb
	}
}

// read reads the changes after pos, up to hubBurst of them, and returns
// their burst.
func (h *feedHub) read(pos uint64, buf []revoke.Revocation) *hubBurstFrames {
	b := &hubBurstFrames{from: pos, to: pos, done: make(chan struct{})}
	for b.to-pos < hubBurst {
		revs, err := h.rv.ChangesSince(b.to, buf)
		if err != nil {
			return &hubBurstFrames{from: pos, to: pos, err: err, done: make(chan struct{})}
		}
		if len(revs) == 0 {
			break
		}
		b.frames = appendEntries(b.frames, b.to+1, revs)
		b.to += uint64(len(revs))
	}
	b.entries = len(b.frames)
	b.frames = appendSync(b.frames, b.to, h.rv.Lag())
	return b
}
