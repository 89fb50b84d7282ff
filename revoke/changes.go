package revoke

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// ErrChangesGone is returned, wrapped, by Revoker.ChangesSince for a
// position the change log no longer reaches back to (its oldest entries
// were dropped to keep it within WithChangeLog), or that it never reached
// (a position of another epoch). Load a snapshot (Revoker.Snapshot) instead.
var ErrChangesGone = errors.New("revoke: change log does not hold the position")

// DefaultChangeLog is how many revocations the change log keeps unless
// WithChangeLog says otherwise: about 3.5 MiB once full.
const DefaultChangeLog = 1 << 16

// MaxChangeLog is the largest change log WithChangeLog accepts.
const MaxChangeLog = 1 << 24

// WithChangeLog sets how many of the latest revocations that entered the
// index the change log keeps (56 bytes each), for followers that resume
// after a disconnect (see Revoker.ChangesSince). A follower whose position
// has fallen out of it loads a snapshot instead. The default is
// DefaultChangeLog; n must be between 1 and MaxChangeLog.
func WithChangeLog(n int) Option {
	return func(o *options) { o.changeLog = n }
}

// checkChangeLog validates WithChangeLog. The zero value of options (a
// Revoker built without defaultOptions) has no log size; defaultOptions
// sets DefaultChangeLog.
func checkChangeLog(n int) error {
	if n < 1 || n > MaxChangeLog {
		return fmt.Errorf("change log of %d entries is outside [1, %d] (WithChangeLog)", n, MaxChangeLog)
	}
	return nil
}

// changeEntry is one revocation of the change log, as the index keeps it.
type changeEntry struct {
	id     ID
	check  uint32
	exp    uint32 // Unix seconds, rounded up
	status StatusRef
}

// changeLog is the bounded, in-memory log of the revocations that entered
// a Revoker's index, in the order they entered it. Positions start at 1
// and increase by one per entry; they are local to the Revoker (its epoch)
// and say nothing of the store's sequence numbers, which over a shared
// store reach the index out of order.
type changeLog struct {
	mu     sync.Mutex
	epoch  uint64
	size   int           // the most entries ring holds
	ring   []changeEntry // entry of position p at (p-1) % size; grows to size
	head   uint64        // position of the newest entry; 0 when none
	wake   chan struct{} // closed and cleared by the next append, made on demand
	closed bool
}

// closedChan is a channel that is always closed.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// init sets the epoch once, under l.mu.
func (l *changeLog) init() {
	for l.epoch == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:]) // never fails (crypto/rand)
		l.epoch = binary.BigEndian.Uint64(b[:])
	}
}

// push adds rev at the next position. l.mu is held.
func (l *changeLog) push(rev Revocation) {
	e := changeEntry{id: rev.ID, check: rev.Check, exp: expSeconds(rev.ExpiresAt), status: rev.Status}
	if len(l.ring) < l.size {
		l.ring = append(l.ring, e)
	} else {
		l.ring[l.head%uint64(l.size)] = e
	}
	l.head++
}

// wakeAll wakes the waiters of ChangeNotify. l.mu is held.
func (l *changeLog) wakeAll() {
	if l.wake != nil {
		close(l.wake)
		l.wake = nil
	}
}

// close wakes every waiter for good.
func (l *changeLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.wakeAll()
}

// admit adds revs to the index, and those that changed it (new, or with a
// later expiry) to the change log, waking its waiters. Every path that adds
// revocations to the index goes through it, so a revocation reaches the log
// once, whether the local commit or the follower's sync brings it first.
// Both happen under the log's lock, so a revocation has its position only
// once it is in the index: a snapshot that reads the head first and the
// index afterwards holds every position up to that head (see Snapshot).
func (r *Revoker) admit(revs []Revocation) {
	if len(revs) == 0 {
		return
	}
	l := &r.changes
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	for _, rev := range revs {
		if r.index.add(rev) {
			l.push(rev)
		}
	}
	l.wakeAll()
}

// Epoch identifies this Revoker's change log: a random non-zero number
// drawn once per Revoker. Positions of one epoch mean nothing in another: a
// follower that reconnects to a restarted server, or to another replica,
// finds another epoch and loads a snapshot.
func (r *Revoker) Epoch() uint64 {
	r.changes.mu.Lock()
	defer r.changes.mu.Unlock()
	r.changes.init()
	return r.changes.epoch
}

// ChangeRange returns the positions the change log holds: those above
// oldest up to head (head is 0 before the first revocation; oldest is head
// less the entries kept, at most WithChangeLog).
func (r *Revoker) ChangeRange() (oldest, head uint64) {
	r.changes.mu.Lock()
	defer r.changes.mu.Unlock()
	return r.changes.head - uint64(len(r.changes.ring)), r.changes.head
}

// Snapshot calls fn with every revocation the index holds, in batches of at
// most len(buf) (buf is reused between calls; fn must not keep it), and
// returns the change log position the snapshot is complete up to: every
// revocation at that position or before is in the batches (unless it expired
// and was swept meanwhile), and later ones may be too. A follower that loads
// the snapshot and then applies ChangesSince(pos) misses nothing; it may see
// a revocation twice, which changes nothing. Entries carry what the index
// keeps: the fingerprint of the ID (its first FingerprintSize bytes but the
// last two bits, the rest zero), the expiry rounded up to ExpiryResolution, no Check and no
// Seq; Index.Add takes them as the revocations they stand for.
//
// No lock is held while fn runs: a slow fn delays no Revoke. Snapshot stops
// with ctx's error when ctx is done, and with fn's error when fn fails; it
// returns an error wrapping ErrClosed once the Revoker is closed.
func (r *Revoker) Snapshot(ctx context.Context, buf []Revocation, fn func([]Revocation) error) (uint64, error) {
	if r.closed.Load() {
		return 0, ErrClosed
	}
	if len(buf) == 0 {
		return 0, fmt.Errorf("revoke: Snapshot: %w: empty buffer", ErrInvalidOption)
	}
	r.changes.mu.Lock()
	r.changes.init()
	pos := r.changes.head
	r.changes.mu.Unlock()
	err := r.index.eachBatch(buf, func(b []Revocation) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.closed.Load() {
			return ErrClosed
		}
		return fn(b)
	})
	if err != nil {
		return 0, fmt.Errorf("revoke: Snapshot: %w", err)
	}
	return pos, nil
}

// ChangesSince copies into buf the revocations at the positions after pos,
// at most len(buf) of them, in order (the first at pos+1), and returns them;
// none when pos is the head. It returns an error wrapping ErrChangesGone
// when the log no longer holds position pos+1 (it dropped it to stay within
// WithChangeLog) or never held pos (pos is beyond the head), and one
// wrapping ErrClosed once the Revoker is closed. Entries are as in Snapshot.
func (r *Revoker) ChangesSince(pos uint64, buf []Revocation) ([]Revocation, error) {
	l := &r.changes
	l.mu.Lock()
	defer l.mu.Unlock()
	switch oldest := l.head - uint64(len(l.ring)); {
	case l.closed:
		return nil, fmt.Errorf("revoke: ChangesSince: %w", ErrClosed)
	case pos > l.head:
		return nil, fmt.Errorf("revoke: ChangesSince: %w: position %d is beyond the head %d", ErrChangesGone, pos, l.head)
	case pos < oldest:
		return nil, fmt.Errorf("revoke: ChangesSince: %w: position %d is before the oldest kept, %d", ErrChangesGone, pos, oldest+1)
	}
	n := min(l.head-pos, uint64(len(buf)))
	out := buf[:n]
	for i := range out {
		e := &l.ring[(pos+uint64(i))%uint64(l.size)]
		out[i] = Revocation{ID: e.id, Check: e.check, ExpiresAt: time.Unix(int64(e.exp), 0).UTC(), Status: e.status}
	}
	return out, nil
}

// ChangeNotify returns a channel that is closed once the change log holds a
// position after pos, or the Revoker closes. It is closed already if either
// holds now. Waiting on it costs nothing but the blocked goroutine.
func (r *Revoker) ChangeNotify(pos uint64) <-chan struct{} {
	l := &r.changes
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.head > pos {
		return closedChan
	}
	if l.wake == nil {
		l.wake = make(chan struct{})
	}
	return l.wake
}

// syncAdd adds a revocation that sync read from the store. While New loads
// the store (before the background context exists) nobody follows the log
// yet, and a snapshot holds what New loads: only the index gets it.
func (r *Revoker) syncAdd(rev Revocation) {
	if r.bg == nil {
		r.index.add(rev)
		return
	}
	revs := [1]Revocation{rev}
	r.admit(revs[:])
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
