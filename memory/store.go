package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// Store is a revoke.Store in process memory. The zero value is an empty
// Store ready to use, as is New's. It is safe for concurrent use.
type Store struct {
	mu      sync.RWMutex
	closed  bool
	records map[revoke.ID]revoke.Record
	grants  map[revoke.ID]map[revoke.ID]struct{}
	seq     uint64
}

var (
	_ revoke.Store = (*Store)(nil)
	_ revoke.Tx    = (*tx)(nil)
)

// New returns an empty Store. It is the same as new(Store).
func New() *Store {
	return &Store{
		records: make(map[revoke.ID]revoke.Record),
		grants:  make(map[revoke.ID]map[revoke.ID]struct{}),
	}
}

// View runs fn in a read-only transaction. Views run concurrently with each
// other and never with an Update.
func (s *Store) View(ctx context.Context, fn func(revoke.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("memory: %w", revoke.ErrClosed)
	}
	return fn(&tx{s: s})
}

// Update runs fn in a read-write transaction. Updates run one at a time; if
// fn returns an error, every write it made is undone.
func (s *Store) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memory: %w", revoke.ErrClosed)
	}
	if s.records == nil {
		s.records = make(map[revoke.ID]revoke.Record)
		s.grants = make(map[revoke.ID]map[revoke.ID]struct{})
	}
	t := &tx{s: s, writable: true, seq: s.seq}
	if err := fn(t); err != nil {
		t.rollback()
		return err
	}
	s.seq = t.seq
	return nil
}

// Close discards the records. Later calls return revoke.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memory: %w", revoke.ErrClosed)
	}
	s.closed = true
	s.records, s.grants = nil, nil
	return nil
}

// tx is a transaction. A writable tx changes the maps in place under the
// Store's write lock and keeps an undo log to roll back.
type tx struct {
	s        *Store
	writable bool
	seq      uint64
	undo     []undo
}

// undo restores one record: the record as it was, or absence.
type undo struct {
	id      revoke.ID
	old     revoke.Record
	existed bool
}

func (t *tx) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		u := t.undo[i]
		t.remove(u.id)
		if u.existed {
			t.set(u.old)
		}
	}
}

func (t *tx) Get(_ context.Context, id revoke.ID) (revoke.Record, bool, error) {
	rec, ok := t.s.records[id]
	return rec, ok, nil
}

func (t *tx) Put(_ context.Context, rec revoke.Record) error {
	if !t.writable {
		return fmt.Errorf("memory: Put in a read-only transaction")
	}
	old, existed := t.s.records[rec.ID]
	t.undo = append(t.undo, undo{id: rec.ID, old: old, existed: existed})
	t.remove(rec.ID)
	t.set(rec)
	t.seq = max(t.seq, rec.Seq) // an imported Seq: NextSeq stays above it
	return nil
}

func (t *tx) Delete(_ context.Context, id revoke.ID) error {
	if !t.writable {
		return fmt.Errorf("memory: Delete in a read-only transaction")
	}
	old, existed := t.s.records[id]
	if !existed {
		return nil
	}
	t.undo = append(t.undo, undo{id: id, old: old, existed: true})
	t.remove(id)
	return nil
}

func (t *tx) set(rec revoke.Record) {
	t.s.records[rec.ID] = rec
	members := t.s.grants[rec.Grant]
	if members == nil {
		members = make(map[revoke.ID]struct{})
		t.s.grants[rec.Grant] = members
	}
	members[rec.ID] = struct{}{}
}

func (t *tx) remove(id revoke.ID) {
	rec, ok := t.s.records[id]
	if !ok {
		return
	}
	delete(t.s.records, id)
	members := t.s.grants[rec.Grant]
	delete(members, id)
	if len(members) == 0 {
		delete(t.s.grants, rec.Grant)
	}
}

func (t *tx) Grant(_ context.Context, grant revoke.ID, fn func(revoke.Record) error) error {
	for id := range t.s.grants[grant] {
		if err := fn(t.s.records[id]); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) RevokedSince(_ context.Context, seq uint64, fn func(revoke.Revocation) error) error {
	n := 0
	for _, rec := range t.s.records {
		if rec.Seq > seq {
			n++
		}
	}
	revs := make([]revoke.Revocation, 0, n)
	for _, rec := range t.s.records {
		if rec.Seq > seq {
			revs = append(revs, rec.Revocation())
		}
	}
	slices.SortFunc(revs, func(a, b revoke.Revocation) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, rev := range revs {
		if err := fn(rev); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) Expired(_ context.Context, before time.Time, limit int, fn func(revoke.Record) error) error {
	n := 0
	for _, rec := range t.s.records {
		if n >= limit {
			break
		}
		if rec.ExpiresAt.Before(before) {
			n++
			if err := fn(rec); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *tx) NextSeq(context.Context) (uint64, error) {
	if !t.writable {
		return 0, fmt.Errorf("memory: NextSeq in a read-only transaction")
	}
	t.seq++
	return t.seq, nil
}
