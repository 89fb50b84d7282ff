package bolt

import (
	"sync"

	"github.com/sdkauth/revocation/revoke"
)

// change is the state one transaction leaves a record in: the record as
// put, or its deletion.
type change struct {
	rec     revoke.Record
	deleted bool
}

// writeSet is what an Update's fn wrote: the last change of each record, in
// the order records were first touched, and the revocation sequence number
// it reached (the highest of NextSeq's numbers and of the Seqs put).
type writeSet struct {
	m     map[revoke.ID]change
	order []revoke.ID
	seq   uint64
}

func newWriteSet() *writeSet { return &writeSet{m: make(map[revoke.ID]change)} }

func (w *writeSet) set(id revoke.ID, c change) {
	if _, ok := w.m[id]; !ok {
		w.order = append(w.order, id)
	}
	w.m[id] = c
	if !c.deleted {
		w.seq = max(w.seq, c.rec.Seq)
	}
}

func (w *writeSet) empty() bool { return len(w.m) == 0 && w.seq == 0 }

// version is a change published by the commit numbered at.
type version struct {
	at uint64
	c  change
}

// layer is a set of committed changes not yet in the tree: the commits of
// one journal segment. Its versions of a record are kept oldest first, so
// that a reader sees the one its snapshot was taken after.
type layer struct {
	m     map[revoke.ID][]version
	order []revoke.ID // records in the order first touched, for the applier
	// byGrant lists, per grant, the records put in it (a record deleted
	// since, or deleted and put again in another grant, stays listed:
	// readers check the version they see).
	byGrant map[revoke.ID][]revoke.ID
	n       int    // versions held
	seq     uint64 // the highest sequence number committed in it
}

func newLayer() *layer {
	return &layer{m: make(map[revoke.ID][]version), byGrant: make(map[revoke.ID][]revoke.ID)}
}

// latest returns the newest change of id in l published at or before at.
func (l *layer) latest(id revoke.ID, at uint64) (change, bool) {
	vs := l.m[id]
	for i := len(vs) - 1; i >= 0; i-- {
		if vs[i].at <= at {
			return vs[i].c, true
		}
	}
	return change{}, false
}

// overlay holds the committed changes the tree does not hold yet: the
// active layer, which commits publish to, and the frozen one, which the
// applier is writing to the tree (nil when none). Its lock is held only
// for the duration of a lookup, a publish or a copy, never across I/O.
type overlay struct {
	mu      sync.RWMutex
	active  *layer
	frozen  *layer
	at      uint64        // commits published
	freezes uint64        // layers frozen
	drops   uint64        // frozen layers dropped (written to the tree)
	room    chan struct{} // closed when the applier drops a frozen layer
}

func newOverlay() *overlay { return &overlay{active: newLayer(), room: make(chan struct{})} }

// publish makes w visible to the snapshots taken after it.
func (o *overlay) publish(w *writeSet) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.at++
	l := o.active
	for _, id := range w.order {
		vs, ok := l.m[id]
		if !ok {
			l.order = append(l.order, id)
		}
		c := w.m[id]
		l.m[id] = append(vs, version{at: o.at, c: c})
		if !c.deleted && (len(vs) == 0 || vs[len(vs)-1].c.deleted || vs[len(vs)-1].c.rec.Grant != c.rec.Grant) {
			l.byGrant[c.rec.Grant] = append(l.byGrant[c.rec.Grant], id)
		}
	}
	l.n += len(w.order)
	l.seq = max(l.seq, w.seq)
}

// size returns the versions held by the active and frozen layers, and a
// channel closed when the applier next frees room.
func (o *overlay) size() (active, total int, room <-chan struct{}) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	total = o.active.n
	if o.frozen != nil {
		total += o.frozen.n
	}
	return o.active.n, total, o.room
}

// freeze makes the active layer the frozen one and starts a new active
// layer. It returns the frozen layer, nil if the active one was empty (no
// change, and no sequence number taken).
func (o *overlay) freeze() *layer {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.active.n == 0 && o.active.seq == 0 {
		return nil
	}
	o.frozen, o.active = o.active, newLayer()
	o.freezes++
	return o.frozen
}

// dropFrozen forgets the frozen layer, now in the tree, and wakes the
// Updates waiting for room.
func (o *overlay) dropFrozen() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.frozen = nil
	o.drops++
	close(o.room)
	o.room = make(chan struct{})
}

// wake wakes the Updates waiting for room without freeing any (they then
// see why: the store failed or closed).
func (o *overlay) wake() {
	o.mu.Lock()
	defer o.mu.Unlock()
	close(o.room)
	o.room = make(chan struct{})
}

// frozenLayer returns the frozen layer, nil if none.
func (o *overlay) frozenLayer() *layer {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.frozen
}

// seq returns the highest sequence number the snapshot's layers hold.
func (s snapshot) seq() uint64 {
	if s.o == nil {
		return 0
	}
	s.o.mu.RLock()
	defer s.o.mu.RUnlock()
	var n uint64
	for _, l := range s.layers {
		n = max(n, l.seq)
	}
	return n
}

// snapshot is a reader's view of the overlay: the layers and the commits
// published when it was taken. Take it before opening the bbolt read
// transaction it is read with: a frozen layer dropped after that is in the
// tree the transaction sees, and one still held is read over it. Once the
// transaction is open, check that the snapshot is not stale. A transaction
// begun in the snapshot's generation (see gen) serves it too.
type snapshot struct {
	o       *overlay
	layers  []*layer // newest first
	at      uint64
	freezes uint64
	drops   uint64
}

func (o *overlay) snapshot() snapshot {
	o.mu.RLock()
	defer o.mu.RUnlock()
	s := snapshot{o: o, at: o.at, freezes: o.freezes, drops: o.drops, layers: []*layer{o.active}}
	if o.frozen != nil {
		s.layers = append(s.layers, o.frozen)
	}
	return s
}

// stale reports whether the snapshot's active layer has been frozen since
// it was taken. The applier may then have written it to the tree, with
// the commits published after the snapshot, which the snapshot does not
// see in the layer but would see in the tree: a bbolt read transaction
// begun after that is not the snapshot's, and the reader takes a new one.
func (s snapshot) stale() bool {
	s.o.mu.RLock()
	defer s.o.mu.RUnlock()
	return s.o.freezes != s.freezes
}

// gen is the generation of the overlay the snapshot was taken in: it
// changes each time a layer is frozen or dropped, the only moments the
// tree may come to hold what the snapshot's layers do not (freeze), or to
// no longer need a layer (drop). Between the two, the tree is read the
// same from any transaction begun in that generation, under the layers of
// any snapshot of it: a read transaction of the tree serves every snapshot
// of the generation it began in.
func (s snapshot) gen() uint64 { return s.freezes + s.drops }

// current reports whether the overlay is still in the snapshot's
// generation.
func (s snapshot) current() bool {
	s.o.mu.RLock()
	defer s.o.mu.RUnlock()
	return s.o.freezes+s.o.drops == s.gen()
}

// lookup returns the change of id the snapshot sees, if any.
func (s snapshot) lookup(id revoke.ID) (change, bool) {
	if s.o == nil {
		return change{}, false
	}
	s.o.mu.RLock()
	defer s.o.mu.RUnlock()
	for _, l := range s.layers {
		if c, ok := l.latest(id, s.at); ok {
			return c, true
		}
	}
	return change{}, false
}

// inGrant returns the IDs of the records put in grant in the snapshot's
// layers, with repeats and with records deleted since.
func (s snapshot) inGrant(grant revoke.ID) []revoke.ID {
	if s.o == nil {
		return nil
	}
	s.o.mu.RLock()
	defer s.o.mu.RUnlock()
	var ids []revoke.ID
	for _, l := range s.layers {
		ids = append(ids, l.byGrant[grant]...)
	}
	return ids
}

// each calls fn with the change of every record the snapshot sees, newest
// layer winning, in no particular order, under the overlay's read lock
// (fn must not block).
func (s snapshot) each(fn func(id revoke.ID, c change)) {
	if s.o == nil {
		return
	}
	s.o.mu.RLock()
	defer s.o.mu.RUnlock()
	for i, l := range s.layers {
		for id := range l.m {
			c, ok := l.latest(id, s.at)
			if !ok {
				continue
			}
			shadowed := false
			for _, newer := range s.layers[:i] {
				if _, ok := newer.latest(id, s.at); ok {
					shadowed = true
					break
				}
			}
			if !shadowed {
				fn(id, c)
			}
		}
	}
}
