package revoke

import "time"

// shedInterval is how often, at most, a Revoker sweeps the entries of
// tokens that have expired (by more than the purge grace) out of its
// index on its own, whether or not it purges the store.
const shedInterval = time.Minute

// indexed adds the revocations a write of this Revoker committed to the
// index, and sheds expired entries when one shedInterval has passed since
// the last sweep.
func (r *Revoker) indexed(revs []Revocation) {
	r.admit(revs)
	r.shed()
}

// shed sweeps from the index the entries that expired more than the purge
// grace ago, at most once per shedInterval, so that the index stays bounded
// by what is revoked and unexpired even in a process that never purges
// (the replicas of a shared store other than the one running the janitor,
// or a Revoker without PurgePolicy.Every). The follower calls it after every
// catch-up; writes call it after they commit. A sweep visits every entry
// of the index once.
func (r *Revoker) shed() {
	now := r.opts.now()
	last := r.shedAt.Load()
	if now.UnixNano()-last < int64(shedInterval) || !r.shedAt.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	r.index.sweep(now.Add(-r.opts.grace))
}
