package revoke

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// committer runs write operations in shared Update transactions (group
// commit). A store that declares Capabilities.Overlap above 1 (a database
// server, far away) runs up to that many of them at once, each a group of
// its own; the rest of this comment speaks of one. The first caller to
// arrive while no transaction is running leads:
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
// ErrRevoked) it records in its closure. It may run more than once, each
// time in a new transaction (see run), so it resets what it records at its
// start: since it reads before it writes, running it again after a
// transaction that rolled back does what running it once would.
type committer struct {
	store Store

	// overlap is how many transactions may run at once (at least 1).
	overlap int

	mu    sync.Mutex
	queue []*op
	// leaders counts the transactions running. The queue holds operations
	// only while it equals overlap: a caller that finds fewer leads at
	// once.
	leaders int
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
	// reads are the IDs fn will read first, read for the whole
	// transaction in one Get (see txn.load). fn may read others.
	reads []ID
	fn    func(context.Context, *txn) error
	err   error
	lead  bool          // set when woken to lead the next transaction
	wake  chan struct{} // receives once: done, or lead
	// Set by the leader running the operation: settled once err is final,
	// woken once it has sent on wake for it.
	settled, woken bool
}

// errGaveUp rolls back a transaction holding the operation of a caller
// whose context ended before the commit.
var errGaveUp = errors.New("revoke: a caller gave up before the commit")

// errPanicked is wrapped by the error of a transaction in which the store
// panicked.
var errPanicked = errors.New("revoke: the store panicked")

// do runs fn in a transaction shared with other concurrent callers and
// returns the transaction's error. reads are the IDs fn will read (see
// txn.load); nil declares none. If ctx is done before the transaction
// commits, fn's writes are not committed and ctx's error is returned: a
// caller still queued returns at once, and one whose transaction is under
// way rolls it back (see run) and returns. Only a commit already under way
// when ctx ends is waited for, and its outcome returned.
func (c *committer) do(ctx context.Context, reads []ID, fn func(context.Context, *txn) error) error {
	o := &op{ctx: ctx, reads: reads, fn: fn, wake: make(chan struct{}, 1)}
	c.mu.Lock()
	leader := c.leaders < max(c.overlap, 1)
	if leader {
		c.leaders++
	} else {
		c.queue = append(c.queue, o)
	}
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
			// A leader has taken o into its transaction, which ctx's
			// end rolls back unless its commit is under way, or chosen
			// it to lead the next: finish as usual.
			<-o.wake
		}
		if !o.lead {
			return o.err
		}
	}
	c.lead(o)
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

// lead runs o and the queue in a transaction, and hands the lead to
// the first caller queued since. The operations run leaves unsettled
// (because o's was settled first, see run) go back to the head of the
// queue, so that o's caller returns without waiting for them.
func (c *committer) lead(o *op) {
	c.fill()

	c.mu.Lock()
	batch := append([]*op{o}, c.queue...)
	c.queue = nil
	c.mu.Unlock()

	start := time.Now()
	rest := c.run(o, batch)
	took := time.Since(start)
	c.commits.Add(1)
	c.ops.Add(uint64(len(batch) - len(rest)))
	// Once back in the queue, the operations of rest are the next
	// leader's: their fields are not read here again.
	done := batch
	if len(rest) > 0 {
		done = slices.DeleteFunc(slices.Clone(batch), func(b *op) bool { return !b.settled })
	}

	c.mu.Lock()
	c.writers, c.lastTook, c.lastEnd = len(batch)+len(c.queue), took, start.Add(took)
	if len(rest) > 0 {
		c.queue = append(rest, c.queue...)
	}
	if len(c.queue) > 0 {
		// Out of the queue, so that no other leader chooses it too, nor
		// takes it into its transaction.
		next := c.queue[0]
		c.queue = c.queue[1:]
		next.lead = true
		next.wake <- struct{}{}
	} else {
		c.leaders--
	}
	c.mu.Unlock()

	for _, b := range done {
		if b != o && !b.woken {
			b.wake <- struct{}{}
		}
	}
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
// lone writer, or the first after a pause, never waits; nor does a leader
// of overlapping transactions, whose callers join the next one to start.
func (c *committer) fill() {
	if c.overlap > 1 {
		return
	}
	c.mu.Lock()
	target, wait := c.writers, min(c.lastTook/2, maxFillWait)
	if target < 2 || len(c.queue)+1 >= target || wait <= 0 || time.Since(c.lastEnd) > c.lastTook {
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
			n := len(c.queue) + 1 // and the leader
			c.mu.Unlock()
			if n >= target {
				return
			}
		}
	}
}

// run commits the operations of batch, in one transaction when none fails,
// and settles each: sets its err and, unless it is lead's, wakes its caller
// when it fails (those committed are woken by lead). It returns, unsettled,
// the operations it has not run to their end when lead's own operation is
// settled before them, for the next leader to run.
//
// A transaction runs under a context that ends when the context of any of
// its operations does (see attemptContext), and rolls back (errGaveUp) if
// one has ended when its operations have run: a caller whose context ends
// before the commit is sent gets its context's error, and nothing is
// written for it; the others run again without it.
//
// One operation's failure never fails the others. When the transaction
// fails, it has rolled back (see verdict for the failures that are not
// re-run), and run finds the operation to blame by running the batch again
// in parts: an error from the first operation's fn is its own, since no
// other operation wrote before it in that transaction; one from a later
// operation's fn may come from a write that an earlier one made (the
// writes are sent at the next store call that depends on them, see txn),
// so the operations before it and those from it on run apart; one from the
// first read, the last write or the commit, of a batch of two or more,
// splits the batch in halves. Each split leaves parts that commit, or are split again down to
// the operation that fails alone, so exactly the operations whose writes
// the store refuses get its error, and every other commits once. A batch of
// n with one bad operation runs in about 2·log2(n) transactions; the path
// without failures runs one, as before.
func (c *committer) run(lead *op, batch []*op) []*op {
	parts := [][]*op{batch}
	for len(parts) > 0 {
		g := live(lead, parts[0])
		parts = parts[1:]
		if lead.settled {
			return slices.Concat(append([][]*op{g}, parts...)...)
		}
		if len(g) == 0 {
			continue
		}
		failed, err := c.attempt(g)
		parts = verdict(lead, g, failed, err, parts)
	}
	return nil
}

// live settles the operations of g whose context has ended, with its
// error, and returns the others: g itself when none has ended.
func live(lead *op, g []*op) []*op {
	n := 0
	for _, o := range g {
		if o.ctx.Err() == nil {
			n++
		}
	}
	if n == len(g) {
		return g
	}
	out := make([]*op, 0, n)
	for _, o := range g {
		if err := o.ctx.Err(); err != nil {
			settle(lead, o, err)
			continue
		}
		out = append(out, o)
	}
	return out
}

// settle sets o's outcome to err, and wakes o's caller when it is an error
// and o is not lead's.
func settle(lead, o *op, err error) {
	o.err, o.settled = err, true
	if err != nil && o != lead {
		o.wake <- struct{}{}
		o.woken = true
	}
}

// verdict settles the operations of g that the outcome of their
// transaction (the error err, raised by the fn of g[failed], or elsewhere
// when failed is -1) decides, and returns parts with what is to run again
// put first.
//
// A failure of the store as a whole (ErrUnavailable, ErrClosed, or a panic
// outside every operation) fails every operation of g and nothing runs
// again: such a commit may have taken effect without the store saying so,
// and an operation run again would report its own write as found rather
// than made. A context error while no operation's context has ended is the
// store's own, and fails g too. Every other failure rolled the transaction
// back, by the Store contract.
func verdict(lead *op, g []*op, failed int, err error, parts [][]*op) [][]*op {
	switch {
	case err == nil:
	case storeWide(err, failed):
	case slices.ContainsFunc(g, func(o *op) bool { return o.ctx.Err() != nil }):
		// A caller gave up: run the others again, without it (see live).
		return slices.Insert(parts, 0, g)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		// The store's own timeout: no caller's context has ended.
	case failed == 0 || len(g) == 1:
		settle(lead, g[0], err)
		return slices.Insert(parts, 0, g[1:])
	case failed > 0:
		return slices.Insert(parts, 0, g[:failed], g[failed:])
	default:
		return slices.Insert(parts, 0, g[:len(g)/2], g[len(g)/2:])
	}
	for _, o := range g {
		settle(lead, o, err)
	}
	return parts
}

// storeWide reports whether err, from a transaction whose operation failed
// raised it (-1 for none), is a failure of the store as a whole, after
// which the transaction's outcome may be unknown.
func storeWide(err error, failed int) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrClosed) ||
		failed < 0 && errors.Is(err, errPanicked)
}

// attempt runs the operations of g in one transaction, and returns its
// error and the index of the operation whose fn returned it, or -1. Each
// attempt first reads, in one Get, the records its operations declared,
// and ends by sending their writes in one Put (see txn).
func (c *committer) attempt(g []*op) (failed int, err error) {
	ctx, stop := attemptContext(g)
	defer stop()
	failed = -1
	err = c.update(ctx, func(tx Tx) error {
		// The store may run this function again (see Store): what a
		// run before this one charged is not this run's.
		failed = -1
		t := newTxn(tx)
		if err := t.load(ctx, declared(g)); err != nil {
			return err
		}
		for i, o := range g {
			// Set before the call, so that a panic in this
			// operation (or in the store, on its records) is
			// charged to it.
			failed = i
			if err := o.fn(ctx, t); err != nil {
				return err
			}
		}
		failed = -1
		if err := flushBatch(ctx, t); err != nil {
			return err
		}
		for _, o := range g {
			if o.ctx.Err() != nil {
				return errGaveUp
			}
		}
		return nil
	})
	return failed, err
}

// attemptContext returns the context of a transaction running g, which
// ends when the context of any operation of g does, so that the store
// stops waiting (for a connection, a lock, a statement) as soon as a caller
// gives up, and its transaction rolls back unless its commit is under way;
// and the function that releases it. The context of a lone operation is
// its own. The context carries the values of g[0]'s.
func attemptContext(g []*op) (context.Context, func()) {
	if len(g) == 1 {
		return g[0].ctx, func() {}
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(g[0].ctx))
	stops := make([]func() bool, 0, len(g))
	for _, o := range g {
		if o.ctx.Done() != nil {
			stops = append(stops, context.AfterFunc(o.ctx, cancel))
		}
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancel()
	}
}

// flushBatch sends the writes of a batch, turning a panic of the store's Put
// into an error of the batch, which the committer splits to find the
// operation whose record the store could not take (see verdict).
func flushBatch(ctx context.Context, t *txn) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("revoke: the store panicked writing a batch: %v", p)
		}
	}()
	return t.flush(ctx)
}

// declared returns the IDs the operations of batch declared they read.
func declared(batch []*op) []ID {
	var ids []ID
	for _, o := range batch {
		ids = append(ids, o.reads...)
	}
	return ids
}

// update runs the Store's Update, turning a panic in it into an error, so
// that a store that panics fails the writes of its batch instead of leaving
// the committer without a leader and every later write waiting forever.
func (c *committer) update(ctx context.Context, fn func(Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v", errPanicked, p)
		}
	}()
	return c.store.Update(ctx, fn)
}
