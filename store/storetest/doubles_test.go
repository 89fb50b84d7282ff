package storetest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// The Stores of this file are broken on purpose, each in one way a backend
// written outside the project went wrong, so that TestSuiteCatchesBrokenBackends
// can show the suite fails them.

// database is the data the processes of a test double share: a memory
// Store stands for the database server, and a counter for the database
// sequence revocation numbers are drawn from.
type database struct {
	mem *memory.Store
	seq atomic.Uint64
	// lock, when set, is taken by every process's Update: the
	// serialization across processes a correct backend has.
	lock *sync.Mutex
}

// process is one process's Store over a database. Its Updates run one at a
// time, but, unless the database has a lock, not one at a time with other
// processes': each reads a snapshot, runs fn on it, and writes what fn
// wrote when it commits, as a backend at READ COMMITTED or REPEATABLE READ
// without a lock does.
type process struct {
	db     *database
	own    sync.Mutex // this process's writers, one at a time
	shared bool
	closed atomic.Bool
}

// newDatabase returns an empty database, whose processes share a lock when
// serialized is true.
func newDatabase(serialized bool) *database {
	db := &database{mem: memory.New()}
	if serialized {
		db.lock = new(sync.Mutex)
	}
	return db
}

// open returns a new process over db.
func (db *database) open(shared bool) *process { return &process{db: db, shared: shared} }

// Capabilities declares the process Shared when it was opened so.
func (p *process) Capabilities() revoke.Capabilities { return revoke.Capabilities{Shared: p.shared} }

func (p *process) View(ctx context.Context, fn func(revoke.Tx) error) error {
	if p.closed.Load() {
		return fmt.Errorf("process: %w", revoke.ErrClosed)
	}
	return p.db.mem.View(ctx, fn)
}

func (p *process) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("process: %w", err)
	}
	if p.closed.Load() {
		return fmt.Errorf("process: %w", revoke.ErrClosed)
	}
	lock := &p.own
	if p.db.lock != nil {
		lock = p.db.lock
	}
	lock.Lock()
	defer lock.Unlock()
	snap, err := p.db.snapshot(ctx)
	if err != nil {
		return err
	}
	var writes []revoke.Record // a zero Kind: a Delete of the ID
	err = snap.Update(ctx, func(tx revoke.Tx) error {
		return fn(&loggingTx{Tx: tx, db: p.db, writes: &writes})
	})
	if err != nil {
		return err
	}
	// The commit takes a while, as one over a network does.
	time.Sleep(time.Duration(rand.N(2000)) * time.Microsecond)
	return p.db.mem.Update(ctx, func(tx revoke.Tx) error {
		for _, w := range writes {
			if w.Kind == 0 {
				if err := tx.Delete(ctx, []revoke.ID{w.ID}); err != nil {
					return err
				}
			} else if err := tx.Put(ctx, []revoke.Record{w}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (p *process) Close() error {
	if p.closed.Swap(true) {
		return fmt.Errorf("process: %w", revoke.ErrClosed)
	}
	return nil
}

// snapshot copies the committed records into a Store of their own.
func (db *database) snapshot(ctx context.Context) (*memory.Store, error) {
	var recs []revoke.Record
	err := db.mem.View(ctx, func(tx revoke.Tx) error {
		var err error
		recs, err = tx.Scan(ctx, revoke.ID{}, math.MaxInt)
		return err
	})
	if err != nil {
		return nil, err
	}
	snap := memory.New()
	return snap, snap.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, recs) })
}

// loggingTx notes the writes of a process's transaction and draws its
// sequence numbers from the database's counter.
type loggingTx struct {
	revoke.Tx
	db     *database
	writes *[]revoke.Record
}

func (t *loggingTx) Put(ctx context.Context, recs []revoke.Record) error {
	for _, rec := range recs {
		for {
			cur := t.db.seq.Load()
			if rec.Seq <= cur || t.db.seq.CompareAndSwap(cur, rec.Seq) {
				break
			}
		}
	}
	*t.writes = append(*t.writes, recs...)
	return t.Tx.Put(ctx, recs)
}

func (t *loggingTx) Delete(ctx context.Context, ids []revoke.ID) error {
	for _, id := range ids {
		*t.writes = append(*t.writes, revoke.Record{ID: id})
	}
	return t.Tx.Delete(ctx, ids)
}

// RevokeGrants notes the records it revoked as writes.
func (t *loggingTx) RevokeGrants(ctx context.Context, seq uint64, grants []revoke.ID) ([]revoke.Revocation, error) {
	revs, err := t.Tx.RevokeGrants(ctx, seq, grants)
	if err != nil {
		return nil, err
	}
	ids := make([]revoke.ID, len(revs))
	for i, rev := range revs {
		ids[i] = rev.ID
	}
	recs, err := t.Tx.Get(ctx, ids)
	if err != nil {
		return nil, err
	}
	*t.writes = append(*t.writes, recs...)
	return revs, nil
}

func (t *loggingTx) NextSeq(context.Context) (uint64, error) { return t.db.seq.Add(1), nil }

// wrapped is a memory Store whose transactions go through wrap.
type wrapped struct {
	*memory.Store
	wrap func(revoke.Tx) revoke.Tx
}

func (w *wrapped) View(ctx context.Context, fn func(revoke.Tx) error) error {
	return w.Store.View(ctx, func(tx revoke.Tx) error { return fn(w.wrap(tx)) })
}

func (w *wrapped) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	return w.Store.Update(ctx, func(tx revoke.Tx) error { return fn(w.wrap(tx)) })
}

// collatingTx matches GrantsOf keys as a case- and accent-insensitive,
// space-padding collation does (MySQL's utf8mb4_general_ci).
type collatingTx struct{ revoke.Tx }

// collate folds s as such a collation compares it.
func collate(s string) string {
	s = strings.NewReplacer("\u0301", "", "\u00e9", "e", "\u00c9", "e", "\u00df", "ss", "\uff41", "a").Replace(s)
	return strings.ToLower(strings.TrimRight(s, " "))
}

func (t collatingTx) GrantsOf(ctx context.Context, by revoke.Owner, key string, after revoke.ID, limit int) ([]revoke.ID, error) {
	if limit <= 0 {
		return nil, nil
	}
	recs, err := t.Tx.Scan(ctx, revoke.ID{}, math.MaxInt)
	if err != nil {
		return nil, err
	}
	var found []revoke.ID
	for _, rec := range recs {
		field := rec.ClientID
		if by == revoke.BySubject {
			field = rec.Subject
		}
		if field != "" && collate(field) == collate(key) && bytes.Compare(rec.Grant[:], after[:]) > 0 {
			found = append(found, rec.Grant)
		}
	}
	slices.SortFunc(found, func(a, b revoke.ID) int { return bytes.Compare(a[:], b[:]) })
	found = slices.Compact(found)
	return found[:min(limit, len(found))], nil
}

// inclusiveExpiredTx reports records expiring at the cutoff too (<=).
type inclusiveExpiredTx struct{ revoke.Tx }

func (t inclusiveExpiredTx) Expired(ctx context.Context, before time.Time, limit int) ([]revoke.ID, error) {
	return t.Tx.Expired(ctx, before.Add(time.Nanosecond), limit)
}

// unlimitedTx reads a limit <= 0 as no limit, as SQLite's LIMIT -1 does.
type unlimitedTx struct{ revoke.Tx }

func (t unlimitedTx) Expired(ctx context.Context, before time.Time, limit int) ([]revoke.ID, error) {
	if limit <= 0 {
		limit = math.MaxInt
	}
	return t.Tx.Expired(ctx, before, limit)
}

// readCommitted is a memory Store whose View runs each read in a
// transaction of its own, as a View at READ COMMITTED does: two reads of
// one View may see different commits.
type readCommitted struct{ *memory.Store }

func (s *readCommitted) View(ctx context.Context, fn func(revoke.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return fn(perReadTx{s.Store})
}

// perReadTx is a read-only Tx whose every read is a View of its own.
type perReadTx struct{ s *memory.Store }

// read runs fn in a View of its own.
func (t perReadTx) read(ctx context.Context, fn func(revoke.Tx) error) error {
	return t.s.View(ctx, fn)
}

func (t perReadTx) Get(ctx context.Context, ids []revoke.ID) (recs []revoke.Record, err error) {
	err = t.read(ctx, func(tx revoke.Tx) error {
		recs, err = tx.Get(ctx, ids)
		return err
	})
	return recs, err
}

func (t perReadTx) Put(context.Context, []revoke.Record) error { return errReadOnly }

func (t perReadTx) Delete(context.Context, []revoke.ID) error { return errReadOnly }

func (t perReadTx) NextSeq(context.Context) (uint64, error) { return 0, errReadOnly }

func (t perReadTx) RevokeGrants(context.Context, uint64, []revoke.ID) ([]revoke.Revocation, error) {
	return nil, errReadOnly
}

func (t perReadTx) RevokedSince(ctx context.Context, seq uint64, fn func(revoke.Revocation) error) error {
	return t.read(ctx, func(tx revoke.Tx) error { return tx.RevokedSince(ctx, seq, fn) })
}

func (t perReadTx) Expired(ctx context.Context, before time.Time, limit int) (ids []revoke.ID, err error) {
	err = t.read(ctx, func(tx revoke.Tx) error {
		ids, err = tx.Expired(ctx, before, limit)
		return err
	})
	return ids, err
}

func (t perReadTx) GrantsOf(ctx context.Context, by revoke.Owner, key string, after revoke.ID, limit int) (ids []revoke.ID, err error) {
	err = t.read(ctx, func(tx revoke.Tx) error {
		ids, err = tx.GrantsOf(ctx, by, key, after, limit)
		return err
	})
	return ids, err
}

func (t perReadTx) Scan(ctx context.Context, after revoke.ID, limit int) (recs []revoke.Record, err error) {
	err = t.read(ctx, func(tx revoke.Tx) error {
		recs, err = tx.Scan(ctx, after, limit)
		return err
	})
	return recs, err
}

var errReadOnly = fmt.Errorf("perReadTx: a write in a read-only transaction")

// commitsCancelled is a memory Store whose Update commits what fn wrote
// even when its context ended while fn ran.
type commitsCancelled struct{ *memory.Store }

func (s commitsCancelled) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.Store.Update(context.WithoutCancel(ctx), fn)
}

// seqAtBegin is a memory Store whose NextSeq counts from the highest Seq
// committed when the transaction began, blind to the Seqs its own Puts
// wrote.
type seqAtBegin struct{ *memory.Store }

var errDrawn = errors.New("drawn")

func (s seqAtBegin) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	var base uint64
	err := s.Store.Update(ctx, func(tx revoke.Tx) (err error) {
		if base, err = tx.NextSeq(ctx); err == nil {
			err = errDrawn
		}
		return err
	})
	if !errors.Is(err, errDrawn) {
		return err
	}
	return s.Store.Update(ctx, func(tx revoke.Tx) error { return fn(&countingSeqTx{Tx: tx, next: base}) })
}

type countingSeqTx struct {
	revoke.Tx
	next uint64
}

func (t *countingSeqTx) NextSeq(context.Context) (uint64, error) {
	t.next++
	return t.next - 1, nil
}

// localTimesTx reads times back in the zone of UTC+2, not in UTC.
type localTimesTx struct{ revoke.Tx }

var plusTwo = time.FixedZone("UTC+2", 2*60*60)

func (t localTimesTx) Get(ctx context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	recs, err := t.Tx.Get(ctx, ids)
	for i := range recs {
		recs[i].ExpiresAt = recs[i].ExpiresAt.In(plusTwo)
	}
	return recs, err
}

// aliasingTx returns records whose client IDs and subjects share one
// buffer with every later read, as strings made with unsafe over a
// database's pages do.
type aliasingTx struct {
	revoke.Tx
	buf *[]byte
}

func (t aliasingTx) Get(ctx context.Context, ids []revoke.ID) ([]revoke.Record, error) {
	recs, err := t.Tx.Get(ctx, ids)
	*t.buf = (*t.buf)[:0]
	for i := range recs {
		recs[i].ClientID = t.alias(recs[i].ClientID)
		recs[i].Subject = t.alias(recs[i].Subject)
	}
	return recs, err
}

func (t aliasingTx) alias(s string) string {
	if s == "" || len(*t.buf)+len(s) > cap(*t.buf) {
		return s
	}
	start := len(*t.buf)
	*t.buf = append(*t.buf, s...)
	return unsafe.String(&(*t.buf)[start], len(s))
}
