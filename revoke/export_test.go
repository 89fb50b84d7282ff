package revoke

import (
	"fmt"
	"time"
)

// Queued returns how many writes wait in r's group committer for a
// transaction to take them, so that tests can line writes up in one
// transaction without sleeping.
func Queued(r *Revoker) int {
	r.commit.mu.Lock()
	defer r.commit.mu.Unlock()
	return len(r.commit.queue)
}

// ProbeStats fills an Index with n revocations, one Add at a time, and
// looks up n tokens it does not hold. It returns how many of those lookups
// read more than their home bucket, and how many home buckets have entries
// that went past them (each a bucket every such miss would read further
// without the bucket's spill summary), of how many buckets.
func ProbeStats(n int) (missesPast, homesSpilled, buckets int) {
	var ix index
	exp := time.Now().Add(time.Hour)
	for i := range n {
		ix.add(Revocation{ID: TokenID(fmt.Sprint("in-", i)), ExpiresAt: exp})
	}
	for i := range n {
		id := TokenID(fmt.Sprint("out-", i))
		k := keyOf(&id)
		if _, _, ok, read := ix.shard(k).tab.Load().find(k); !ok && read > 1 {
			missesPast++
		}
	}
	for i := range ix.shards {
		t := ix.shards[i].tab.Load()
		for b := range t.buckets {
			if t.summary(b)&reachMask != 0 {
				homesSpilled++
			}
		}
		buckets += int(t.buckets)
	}
	return missesPast, homesSpilled, buckets
}
