package statuslist

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// changeBatch is how many revocations the Issuer reads from the change log
// at a time.
const changeBatch = 1024

// retryDelay is how long the Issuer waits before trying a failed reload
// again.
const retryDelay = time.Second

// run follows the Revoker's change log from pos until ctx ends or the
// Revoker closes, setting the entries of the revocations it reads, and
// reloads the lists every reload interval and whenever the log no longer
// holds its position.
func (is *Issuer) run(ctx context.Context, pos uint64) {
	defer close(is.done)
	buf := make([]revoke.Revocation, changeBatch)
	tick := time.NewTicker(is.o.reload)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if p, err := is.reload(ctx); err != nil {
				is.o.log.Warn("statuslist: periodic reload failed; following the change log", "err", err)
			} else {
				pos = p
			}
			continue
		case <-is.rv.ChangeNotify(pos):
		}
		revs, err := is.rv.ChangesSince(pos, buf)
		switch {
		case errors.Is(err, revoke.ErrClosed):
			is.mu.Lock()
			is.closed = true
			is.mu.Unlock()
			return
		case err != nil: // ErrChangesGone: revocations were missed
			is.setStale(true)
			var ok bool
			if pos, ok = is.reloadUntilDone(ctx); !ok {
				return
			}
			continue
		}
		is.apply(revs)
		pos += uint64(len(revs))
	}
}

// reloadUntilDone reloads the lists, trying again every retryDelay, until
// it succeeds (true, with the position to follow from) or ctx ends.
func (is *Issuer) reloadUntilDone(ctx context.Context) (uint64, bool) {
	for {
		pos, err := is.reload(ctx)
		if err == nil {
			is.setStale(false)
			return pos, true
		}
		is.o.log.Error("statuslist: reload failed; lists are not served until it succeeds", "err", err)
		select {
		case <-ctx.Done():
			return 0, false
		case <-time.After(retryDelay):
		}
	}
}

func (is *Issuer) setStale(v bool) {
	is.mu.Lock()
	is.stale = v
	is.mu.Unlock()
}

// reload builds every list from the store and the change log, then puts
// the result in place of the lists, marking dirty only the chunks that
// changed, and returns the change log position it is complete up to.
func (is *Issuer) reload(ctx context.Context) (uint64, error) {
	fresh := make(map[uint64]Array)
	setFresh := func(ref revoke.StatusRef) {
		if !is.inRange(ref) {
			return
		}
		a := fresh[ref.List]
		if a == nil {
			a = make(Array, is.o.size/8)
			fresh[ref.List] = a
		}
		a.set(ref.Index)
	}
	pos, err := is.rv.Statuses(ctx, func(refs []revoke.StatusRef) error {
		for _, ref := range refs {
			setFresh(ref)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("statuslist: loading the lists: %w", err)
	}
	buf := make([]revoke.Revocation, changeBatch)
	for {
		revs, err := is.rv.ChangesSince(pos, buf)
		if err != nil {
			return 0, fmt.Errorf("statuslist: loading the lists: %w", err)
		}
		if len(revs) == 0 {
			break
		}
		for _, rev := range revs {
			if !rev.Status.IsZero() {
				setFresh(rev.Status)
			}
		}
		pos += uint64(len(revs))
	}
	is.swap(fresh)
	return pos, nil
}

// swap puts the lists of fresh in place of the current ones.
func (is *Issuer) swap(fresh map[uint64]Array) {
	is.mu.Lock()
	defer is.mu.Unlock()
	for id := range is.lists {
		if _, ok := fresh[id]; !ok {
			delete(is.lists, id) // no revocation left: served as all 0
		}
	}
	for id, a := range fresh {
		l := is.lists[id]
		if l == nil {
			l = newList(id, is.o.size)
			is.lists[id] = l
		}
		l.mu.Lock()
		l.replace(a)
		l.mu.Unlock()
	}
}

// apply sets the entries of revs.
func (is *Issuer) apply(revs []revoke.Revocation) {
	for _, rev := range revs {
		if rev.Status.IsZero() || !is.inRange(rev.Status) {
			continue
		}
		l := is.listFor(rev.Status.List)
		l.mu.Lock()
		l.set(rev.Status.Index)
		l.mu.Unlock()
	}
}

// listFor returns the state of list id, creating it.
func (is *Issuer) listFor(id uint64) *list {
	is.mu.RLock()
	l := is.lists[id]
	is.mu.RUnlock()
	if l != nil {
		return l
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	if l = is.lists[id]; l == nil {
		l = newList(id, is.o.size)
		is.lists[id] = l
	}
	return l
}

// inRange reports whether ref's index is within the list size, logging the
// ones that are not: an entry handed out under a larger WithListSize.
func (is *Issuer) inRange(ref revoke.StatusRef) bool {
	if int64(ref.Index) < int64(is.o.size) {
		return true
	}
	is.o.log.Error("statuslist: a revoked entry is beyond the list size; its list cannot show it (was WithListSize reduced?)",
		"list", formatID(ref.List), "index", ref.Index, "size", is.o.size)
	return false
}
