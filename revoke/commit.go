package revoke

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// committer runs write operations in shared Update transactions (group
// commit). The first caller to arrive while no transaction is running leads:
// it runs its own operation at once, with no added delay. Callers arriving
// while a transaction runs queue up, and when it ends the first of them leads
// one transaction for the whole queue. Every caller returns only after the
// transaction holding its operation has committed (or failed), so an
// acknowledged write is as durable as the Store makes any commit, while
// concurrent writers share the cost of a commit.
//
// An operation reads and checks before it writes, and returns a non-nil
// error only for a storage failure; its own outcome (a rejection such as
// ErrRevoked) it records in its closure. A storage failure rolls back the
// whole transaction and every operation in it reports that failure.
type committer struct {
	store Store

	mu      sync.Mutex
	queue   []*op
	running bool

	commits, ops atomic.Uint64 // transactions run, operations they held (Stats)
}

type op struct {
	ctx  context.Context
	fn   func(context.Context, Tx) error
	err  error
	lead bool          // set when woken to lead the next transaction
	wake chan struct{} // receives once: done, or lead
}

// do runs fn in a transaction shared with other concurrent callers and
// returns the transaction's error. If ctx is done before the transaction
// starts, fn is not run and ctx's error is returned.
func (c *committer) do(ctx context.Context, fn func(context.Context, Tx) error) error {
	o := &op{ctx: ctx, fn: fn, wake: make(chan struct{}, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, o)
	leader := !c.running
	c.running = true
	c.mu.Unlock()

	if !leader {
		<-o.wake
		if !o.lead {
			return o.err
		}
	}

	c.mu.Lock()
	batch := c.queue
	c.queue = nil
	c.mu.Unlock()

	c.run(ctx, batch)
	c.commits.Add(1)
	c.ops.Add(uint64(len(batch)))

	c.mu.Lock()
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

// run commits the batch in one transaction and sets each operation's err.
// The transaction runs under the leader's context stripped of cancellation,
// so that one caller giving up cannot roll back the others' writes;
// operations whose own context is done when their turn comes are skipped.
func (c *committer) run(ctx context.Context, batch []*op) {
	txCtx := context.WithoutCancel(ctx)
	ran := make([]bool, len(batch))
	err := c.update(txCtx, func(tx Tx) error {
		for i, o := range batch {
			ran[i] = false
			o.err = nil
			if err := o.ctx.Err(); err != nil {
				o.err = err
				continue
			}
			if err := o.fn(txCtx, tx); err != nil {
				return err
			}
			ran[i] = true
		}
		return nil
	})
	if err != nil {
		for i, o := range batch {
			if ran[i] || o.err == nil {
				o.err = err
			}
		}
	}
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
