package memory

import "github.com/sdkauth/revocation/revoke"

// overlay holds the writes of an Update until its commit: the records Put,
// and the IDs deleted.
type overlay struct {
	records map[revoke.ID]revoke.Record // Put
	deleted map[revoke.ID]struct{}      // Deleted, and not Put again
	grants  map[revoke.ID][]revoke.ID   // grant -> the IDs Put under it
	order   []revoke.ID                 // every ID written, once, in order of first write
	written map[revoke.ID]struct{}      // the IDs of order
}

func newOverlay() *overlay {
	return &overlay{
		records: make(map[revoke.ID]revoke.Record),
		deleted: make(map[revoke.ID]struct{}),
		grants:  make(map[revoke.ID][]revoke.ID),
		written: make(map[revoke.ID]struct{}),
	}
}

func (w *overlay) touch(id revoke.ID) {
	if _, ok := w.written[id]; !ok {
		w.written[id] = struct{}{}
		w.order = append(w.order, id)
	}
}

func (w *overlay) put(rec revoke.Record) {
	if _, ok := w.records[rec.ID]; !ok {
		w.grants[rec.Grant] = append(w.grants[rec.Grant], rec.ID)
	}
	w.touch(rec.ID)
	w.records[rec.ID] = rec
	delete(w.deleted, rec.ID)
}

func (w *overlay) remove(id revoke.ID) {
	w.touch(id)
	delete(w.records, id)
	w.deleted[id] = struct{}{}
}
