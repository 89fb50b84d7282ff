package revoke

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// committer runs write operations in shared Update transactions (group
// commit). The first caller to arrive while no transaction is running leads:
// it runs its own operation at once, with no added delay unless the store is
// under load (see fill). Callers arriving
// while a transaction runs queue up, and when it ends the first of them leads
// one transaction for the whole queue. Every caller returns only after the
// transaction holding its operation has committed (or failed), so an
// acknowledged write is as durable as the Store makes any commit, while
// concurrent writers share the cost of a commit.
//
// An operation reads and checks before it writes, and returns a non-nil
// error only for a storage failure; its own outcome (a rejection such as
// ErrRevoked) it records in its closure. It may run more than once (see
// run), so it resets what it records at its start. A storage failure of one
// operation fails that operation alone; a failure of the commit fails every
// operation of the transaction.
type committer struct {
	store Store

	mu      sync.Mutex
	queue   []*op
	running bool
	// What the last transaction saw: the callers it held plus those queued
	// when it ended (an estimate of how many callers are writing), how
	// long it ran, and when it ended. fill waits by them.
	writers  int
	lastTook time.Duration
	lastEnd  time.Time
	// filling is set while a leader waits for the queue to fill; arriving
	// callers signal it.
	filling chan struct{}

	commits, ops atomic.Uint64 // transactions run, operations they held (Stats)
}

// maxFillWait bounds how long a leader waits for callers to join its
// transaction (see fill).
const maxFillWait = 500 * time.Microsecond

type op struct {
	ctx context.Context
	// reads are the IDs fn will Get first, prefetched for the whole
	// transaction when the store's Tx is a Prefetcher. fn may read others.
	reads []ID
	fn    func(context.Context, Tx) error
	err   error
	lead  bool          // set when woken to lead the next transaction
	wake  chan struct{} // receives once: done, or lead
}

// do runs fn in a transaction shared with other concurrent callers and
// returns the transaction's error. reads are the IDs fn will Get (see
// prefetch); nil declares none. If ctx is done before the transaction
// starts, fn is not run and ctx's error is returned: a caller still queued
// returns at once, without waiting for the transaction under way.
func (c *committer) do(ctx context.Context, reads []ID, fn func(context.Context, Tx) error) error {
	o := &op{ctx: ctx, reads: reads, fn: fn, wake: make(chan struct{}, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, o)
	leader := !c.running
	c.running = true
	if c.filling != nil {
		select {
		case c.filling <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()

	if !leader {
		select {
		case <-o.wake:
		case <-ctx.Done():
			c.mu.Lock()
			queued := !o.lead && c.dequeue(o)
			c.mu.Unlock()
			if queued {
				return ctx.Err() // never ran, and never will
			}
			// A leader has taken o into its transaction, or chosen it
			// to lead the next: finish as usual.
			<-o.wake
		}
		if !o.lead {
			return o.err
		}
	}
	c.fill()

	c.mu.Lock()
	batch := c.queue
	c.queue = nil
	c.mu.Unlock()

	start := time.Now()
	c.run(ctx, batch)
	took := time.Since(start)
	c.commits.Add(1)
	c.ops.Add(uint64(len(batch)))

	c.mu.Lock()
	c.writers, c.lastTook, c.lastEnd = len(batch)+len(c.queue), took, start.Add(took)
	if len(c.queue) > 0 {
		next := c.queue[0]
		next.lead = true
		next.wake <- struct{}{}
	} else {
		c.running = false
	}
	c.mu.Unlock()

	for _, b := range batch {
		if b != o {
			b.wake <- struct{}{}
		}
	}
	return o.err
}

// dequeue removes o from the queue and reports whether it was there. c.mu
// must be held.
func (c *committer) dequeue(o *op) bool {
	i := slices.Index(c.queue, o)
	if i < 0 {
		return false
	}
	c.queue = slices.Delete(c.queue, i, i+1)
	return true
}

// fill makes a leader wait, briefly, for the callers that the last
// transaction released to queue again, so that they share this transaction
// rather than the one after it. Without it, under steady load, the callers
// split into groups that alternate, each group a transaction, and a caller
// that finds no transaction running leads one of its own while the others
// are still on their way back. It waits only under load: when the last
// transaction ended no longer ago than it ran, and it and the callers then
// queued numbered two or more. It waits until the queue holds that many,
// and never longer than half the last transaction's time or maxFillWait. A
// lone writer, or the first after a pause, never waits.
func (c *committer) fill() {
	c.mu.Lock()
	target, wait := c.writers, min(c.lastTook/2, maxFillWait)
	if target < 2 || len(c.queue) >= target || wait <= 0 || time.Since(c.lastEnd) > c.lastTook {
		c.mu.Unlock()
		return
	}
	arrived := make(chan struct{}, 1)
	c.filling = arrived
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.filling = nil
		c.mu.Unlock()
	}()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-timer.C:
			return
		case <-arrived:
			c.mu.Lock()
			n := len(c.queue)
			c.mu.Unlock()
			if n >= target {
				return
			}
		}
	}
}

// run commits the batch and sets each operation's err. The transaction runs
// under the leader's context stripped of cancellation, so that one caller
// giving up cannot roll back the others' writes; operations whose own
// context is done when their turn comes are skipped.
//
// One operation's failure never fails the others: when an operation's fn
// returns an error (a record the store refuses, say), the transaction is
// rolled back, that operation alone reports the error, and the batch is run
// again without it. Only a failure of the store as a whole (the commit, or an
// error wrapping ErrUnavailable or ErrClosed) fails every operation of the
// batch. Each retry drops one operation, so a batch of n runs at most n
// times, and only when operations fail.
//
// Each attempt first prefetches the reads its operations declared (see
// prefetch); a prefetch that fails fails the batch, as a commit does.
func (c *committer) run(ctx context.Context, batch []*op) {
	txCtx := context.WithoutCancel(ctx)
	pending := make([]*op, 0, len(batch))
	for _, o := range batch {
		o.err = nil
		pending = append(pending, o)
	}
	for len(pending) > 0 {
		live := pending[:0]
		for _, o := range pending {
			if err := o.ctx.Err(); err != nil {
				o.err = err
				continue
			}
			live = append(live, o)
		}
		pending = live
		if len(pending) == 0 {
			return
		}
		failed := -1
		err := c.update(txCtx, func(tx Tx) error {
			if err := prefetch(txCtx, tx, pending); err != nil {
				return err
			}
			for i, o := range pending {
				// Set before the call, so that a panic in this
				// operation (or in the store, on its records) is
				// charged to it alone.
				failed = i
				if err := o.fn(txCtx, tx); err != nil {
					return err
				}
			}
			failed = -1
			return nil
		})
		if err == nil {
			return
		}
		if failed < 0 || storeWide(err) {
			for _, o := range pending {
				o.err = err
			}
			return
		}
		pending[failed].err = err
		pending = append(pending[:failed], pending[failed+1:]...)
	}
}

// prefetch hands a Tx that is a Prefetcher the IDs that the operations of
// batch declared they read, each once, so that a store paying a round trip
// per Get reads them all in one.
func prefetch(ctx context.Context, tx Tx, batch []*op) error {
	p, ok := tx.(Prefetcher)
	if !ok {
		return nil
	}
	var ids []ID
	for _, o := range batch {
		ids = append(ids, o.reads...)
	}
	if len(ids) == 0 {
		return nil
	}
	slices.SortFunc(ids, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	return p.Prefetch(ctx, slices.Compact(ids))
}

// storeWide reports whether err is a failure of the store as a whole rather
// than of one operation's records.
func storeWide(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrClosed) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// update runs the Store's Update, turning a panic in it into an error, so
// that a store that panics fails the writes of its batch instead of leaving
// the committer without a leader and every later write waiting forever.
func (c *committer) update(ctx context.Context, fn func(Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("revoke: the store panicked: %v", p)
		}
	}()
	return c.store.Update(ctx, fn)
}
