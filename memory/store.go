package memory

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
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
	// owners maps a subject or client to its grants, each with the number
	// of its records that name that owner.
	owners map[owner]map[revoke.ID]int
	seq    uint64
}

// owner is a key of the owner index: a subject or a client.
type owner struct {
	by  revoke.Owner
	key string
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
		owners:  make(map[owner]map[revoke.ID]int),
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
// fn returns an error, or ctx is done when fn returns, every write it made
// is undone.
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
		s.owners = make(map[owner]map[revoke.ID]int)
	}
	t := &tx{s: s, writable: true, seq: s.seq}
	committed := false
	defer func() {
		if !committed {
			t.rollback() // fn panicked: undo its writes before the panic goes on
		}
	}()
	if err := fn(t); err != nil {
		t.rollback()
		committed = true // rolled back already
		return err
	}
	if err := ctx.Err(); err != nil {
		// The context ended before the commit: nothing fn wrote is kept.
		t.rollback()
		committed = true
		return fmt.Errorf("memory: %w", err)
	}
	committed = true
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
	s.records, s.grants, s.owners = nil, nil, nil
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
	t.own(owner{revoke.ByClient, rec.ClientID}, rec.Grant, 1)
	if rec.Subject != "" {
		t.own(owner{revoke.BySubject, rec.Subject}, rec.Grant, 1)
	}
}

// own adds delta to the records of grant that name o.
func (t *tx) own(o owner, grant revoke.ID, delta int) {
	grants := t.s.owners[o]
	if grants == nil {
		grants = make(map[revoke.ID]int)
		t.s.owners[o] = grants
	}
	if n := grants[grant] + delta; n > 0 {
		grants[grant] = n
	} else {
		delete(grants, grant)
		if len(grants) == 0 {
			delete(t.s.owners, o)
		}
	}
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
	t.own(owner{revoke.ByClient, rec.ClientID}, rec.Grant, -1)
	if rec.Subject != "" {
		t.own(owner{revoke.BySubject, rec.Subject}, rec.Grant, -1)
	}
}

// Grants calls fn for at most limit grants of the subject or client key
// above after, in ascending order. The index is a hash map: it picks the
// lowest limit IDs above after in one pass over the owner's grants, in
// time proportional to their number, not to the store's.
func (t *tx) Grants(_ context.Context, by revoke.Owner, key string, after revoke.ID, limit int, fn func(revoke.ID) error) error {
	if by != revoke.BySubject && by != revoke.ByClient {
		return fmt.Errorf("memory: Grants: unknown owner %v", by)
	}
	if limit <= 0 || (by == revoke.BySubject && key == "") {
		return nil
	}
	var low []revoke.ID // sorted, at most limit
	for g := range t.s.owners[owner{by, key}] {
		if bytes.Compare(g[:], after[:]) <= 0 {
			continue
		}
		if len(low) == limit && bytes.Compare(g[:], low[limit-1][:]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(low, g, func(a, b revoke.ID) int { return bytes.Compare(a[:], b[:]) })
		if len(low) == limit {
			low = low[:limit-1]
		}
		low = slices.Insert(low, i, g)
	}
	for _, g := range low {
		if err := fn(g); err != nil {
			return err
		}
	}
	return nil
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
	if t.seq >= math.MaxInt64 {
		return 0, errors.New("memory: NextSeq: the revocation sequence is exhausted")
	}
	t.seq++
	return t.seq, nil
}
