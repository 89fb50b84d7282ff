package memory

import (
	"bytes"
	"container/heap"
	"context"
	"slices"

	"github.com/sdkauth/revocation/revoke"
)

// Scan returns at most limit records whose ID is above after, in ascending
// ID order. The records live in a map, so each call visits every record and
// keeps the limit smallest IDs above after in a heap: O(n log limit) per
// page.
func (t *tx) Scan(_ context.Context, after revoke.ID, limit int) ([]revoke.Record, error) {
	if limit <= 0 {
		return nil, nil
	}
	var h idHeap // a max-heap of the smallest IDs seen, at most limit
	t.each(func(rec revoke.Record) bool {
		id := rec.ID
		switch {
		case bytes.Compare(id[:], after[:]) <= 0:
		case len(h) < limit:
			heap.Push(&h, id)
		case bytes.Compare(id[:], h[0][:]) < 0:
			h[0] = id
			heap.Fix(&h, 0)
		}
		return true
	})
	ids := []revoke.ID(h)
	slices.SortFunc(ids, compareIDs)
	recs := make([]revoke.Record, len(ids))
	for i, id := range ids {
		recs[i], _ = t.get(id)
	}
	return recs, nil
}

// idHeap is a max-heap of IDs.
type idHeap []revoke.ID

func (h idHeap) Len() int           { return len(h) }
func (h idHeap) Less(i, j int) bool { return bytes.Compare(h[i][:], h[j][:]) > 0 }
func (h idHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *idHeap) Push(x any)        { *h = append(*h, x.(revoke.ID)) }
func (h *idHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
