package bolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sdkauth/revocation/revoke"
	bbolt "go.etcd.io/bbolt"
)

// The applier's batch: it applies the journal to the tree when the active
// layer holds defaultApplyBatch changes or defaultApplyInterval has passed,
// and Updates wait for it while the overlay holds applyLimitFactor times
// the batch.
const (
	defaultApplyBatch    = 8192
	defaultApplyInterval = 200 * time.Millisecond
	applyLimitFactor     = 4
)

// journal is the commit path of a Store from Open: commits append a frame
// to the current segment, and a background applier writes them to the
// tree in batches (see the package documentation, Durability).
type journal struct {
	prefix   string
	mode     os.FileMode
	noSync   bool
	batch    int           // changes that start an application
	interval time.Duration // time that starts one
	limit    int           // changes held that make Updates wait

	wmu     writeLock      // one commit, or the switch to a new segment, at a time
	w       *segmentWriter // the current segment; nil until the first commit into it
	n       uint64         // the current segment's number
	buf     []byte
	frozenN uint64 // the last segment whose commits the frozen layer holds

	amu sync.Mutex // one application at a time

	fmu    sync.Mutex
	failed error // set when a commit's write or an application fails

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

func (j *journal) err() error {
	j.fmu.Lock()
	defer j.fmu.Unlock()
	return j.failed
}

func (j *journal) fail(err error) {
	j.fmu.Lock()
	defer j.fmu.Unlock()
	if j.failed == nil {
		j.failed = err
	}
}

func (j *journal) wake() {
	select {
	case j.kick <- struct{}{}:
	default:
	}
}

// updateJournaled is Update on the journal: fn runs over the layers, its
// writes become one frame, written and synced, then published.
func (s *Store) updateJournaled(ctx context.Context, fn func(revoke.Tx) error) error {
	j := s.jr
	for {
		// room first: a failure after this check closes it (fail, then
		// wake), one before is seen by the check.
		_, total, room := s.ov.size()
		if err := j.err(); err != nil {
			return fmt.Errorf("bolt: Update: the store failed and must be reopened: %w (%w)", err, revoke.ErrUnavailable)
		}
		if total >= j.limit {
			// Wait for the applier, before opening a bbolt transaction,
			// which would hold up its commit if bbolt must grow the map.
			j.wake()
			select {
			case <-room:
				continue
			case <-ctx.Done():
				return fmt.Errorf("bolt: Update: %w", ctx.Err())
			}
		}
		// A caller whose context ends while another commit holds the
		// lock stops waiting: nothing is written for it.
		if err := j.wmu.lockContext(ctx); err != nil {
			return fmt.Errorf("bolt: Update: %w", err)
		}
		if _, total, _ := s.ov.size(); total < j.limit && j.err() == nil {
			break
		}
		j.wmu.Unlock()
	}
	defer j.wmu.Unlock()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt: Update: %w", err)
	}
	ws, fnErr, err := s.runLayered(fn, true)
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return fmt.Errorf("bolt: Update: %w", err)
	case ctx.Err() != nil:
		return fmt.Errorf("bolt: Update: %w", ctx.Err())
	case ws.empty():
		return nil
	}
	if j.w == nil {
		w, err := createSegment(j.prefix, j.n, j.mode, j.noSync)
		if err != nil {
			return fmt.Errorf("bolt: Update: creating a journal segment: %w", err)
		}
		j.w = w
	}
	frame, err := encodeFrame(j.buf[:0], ws, j.w.salt)
	if err != nil {
		return fmt.Errorf("bolt: Update: %w", err)
	}
	if cap(frame) <= 1<<20 {
		j.buf = frame
	}
	if err := j.w.append(frame); err != nil {
		err = fmt.Errorf("writing the journal: %w", err)
		j.fail(err)
		s.ov.wake()
		// Whether the frame reached the disk, for a crash to replay, is
		// unknown.
		return fmt.Errorf("bolt: Update: %w (%w)", err, revoke.ErrUnavailable)
	}
	s.ov.publish(ws)
	if active, _, _ := s.ov.size(); active >= j.batch {
		j.wake()
	}
	return nil
}

// runLayered runs fn over the layers: a snapshot of the overlay, then a
// bbolt read transaction, closed before runLayered returns for a write
// (reused by other Views for a read: see viewLayered). It returns the
// transaction's writes (write only), fn's error, or another error.
func (s *Store) runLayered(fn func(revoke.Tx) error, write bool) (ws *writeSet, fnErr, err error) {
	if !write {
		fnErr, err = s.viewLayered(fn)
		return nil, fnErr, err
	}
	var snap snapshot
	var btx *bbolt.Tx
	for {
		snap = s.ov.snapshot()
		if btx, err = beginTree(s.db, false); err != nil {
			return nil, nil, err
		}
		if !snap.stale() {
			break
		}
		// Rare: the applier froze a layer between the two. An Update,
		// which holds wmu, never sees this.
		_ = btx.Rollback()
	}
	defer func() { _ = btx.Rollback() }()
	t, err := s.begin(btx)
	if err != nil {
		return nil, nil, err
	}
	lt := &ltx{tree: t, snap: snap}
	if write {
		lt.ws = newWriteSet()
	}
	if err := fn(lt); err != nil {
		return nil, err, nil
	}
	return lt.ws, nil, nil
}

// viewLayered runs fn over a snapshot of the overlay and a read
// transaction of the tree, reusing one of the snapshot's generation that
// another View finished with (see readTxCache).
func (s *Store) viewLayered(fn func(revoke.Tx) error) (fnErr, err error) {
	snap := s.ov.snapshot()
	rt := s.rtx.get(snap.gen(), time.Now())
	if rt == nil {
		if snap, rt, err = s.beginRead(); err != nil {
			return nil, err
		}
	}
	fnErr = fn(&ltx{tree: rt.t, snap: snap})
	s.rtx.put(rt, time.Now())
	return fnErr, nil
}

// beginRead takes a snapshot of the overlay and begins a read transaction
// of the tree to read it with. The transaction's generation is the
// snapshot's; it is reusable if the overlay was still in that generation
// once the transaction had begun.
func (s *Store) beginRead() (snapshot, *readTx, error) {
	for {
		snap := s.ov.snapshot()
		btx, err := beginTree(s.db, false)
		if err != nil {
			return snapshot{}, nil, err
		}
		if snap.stale() {
			// Rare: the applier froze a layer between the two.
			_ = btx.Rollback()
			continue
		}
		// A frozen layer dropped between the two: the transaction serves
		// this snapshot, not others of the new generation.
		rt := &readTx{gen: snap.gen(), born: time.Now(), reuse: snap.current()}
		if rt.t, err = s.begin(btx); err != nil {
			_ = btx.Rollback()
			return snapshot{}, nil, err
		}
		return snap, rt, nil
	}
}

// applier applies the journal to the tree when kicked or every
// applyInterval, until stopped.
func (s *Store) applier() {
	j := s.jr
	defer close(j.done)
	tick := time.NewTicker(j.interval)
	defer tick.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-j.kick:
		case <-tick.C:
		}
		if j.err() != nil {
			continue
		}
		_ = s.applyOnce()
	}
}

// applyOnce applies the frozen layer if there is one (an earlier
// application failed), or else freezes the active layer, switching
// commits to a new segment, and applies it: one bbolt transaction, which
// bbolt syncs. Then it drops the layer and deletes its segments.
func (s *Store) applyOnce() error {
	j := s.jr
	j.amu.Lock()
	defer j.amu.Unlock()
	l := s.ov.frozenLayer()
	if l == nil {
		var old *segmentWriter
		j.wmu.Lock()
		if l = s.ov.freeze(); l != nil {
			old, j.w = j.w, nil
			j.frozenN = j.n
			j.n++
		}
		j.wmu.Unlock()
		if old != nil {
			// Every commit wrote and synced its frame; the seal, which
			// lets Open check the last one too, is best effort.
			_ = old.seal()
		}
		if l == nil {
			return nil
		}
	}
	if err := s.applyLayer(l); err != nil {
		err = fmt.Errorf("bolt: applying the journal to the tree: %w", err)
		j.fail(err)
		s.ov.wake()
		return err
	}
	s.ov.dropFrozen()
	if err := removeSegments(j.prefix, j.frozenN, j.noSync); err != nil {
		// A deletion that a crash may undo would replay the segment over
		// later commits: the store fails as for a commit's failed sync.
		j.fail(err)
		s.ov.wake()
		return err
	}
	return nil
}

// removeSegments deletes the segments numbered up to last and, unless
// noSync, makes the deletions durable, with those of earlier calls whose
// sync failed: a deleted segment that came back after a crash would be
// replayed over the later commits to the tree (those of a Store from New,
// which writes the tree directly), undoing them.
func removeSegments(prefix string, last uint64, noSync bool) error {
	ns, err := segments(prefix)
	if err != nil {
		return fmt.Errorf("bolt: listing the journal: %w", err)
	}
	for _, n := range ns {
		if n > last {
			break
		}
		if err := os.Remove(segmentPath(prefix, n)); err != nil {
			return fmt.Errorf("bolt: removing an applied journal segment: %w", err)
		}
	}
	if !noSync {
		if err := syncDir(filepath.Dir(prefix)); err != nil {
			return fmt.Errorf("bolt: syncing the journal's directory: %w", err)
		}
	}
	return nil
}

// applyChunk is the most changes applyLayer writes in one bbolt
// transaction. bbolt splits the nodes a transaction grows only when it
// commits, so n inserts landing in one node (a young tree, a batch of keys
// that sort together) cost n² moves within one transaction; chunks keep
// that bounded, at the price of one bbolt commit per chunk.
const applyChunk = 4096

// applyLayer writes the last change of every record of l to the tree, in
// the order the records were first touched, and raises the tree's sequence
// counter to l's, in bbolt transactions of applyChunk changes. Writing a
// change the tree already holds changes nothing, so a segment applied
// twice (a crash after a transaction and before the segment's deletion)
// leaves the same tree. Readers read l over the tree until it is dropped,
// so the tree between two chunks is never seen alone.
func (s *Store) applyLayer(l *layer) error {
	for start := 0; start == 0 || start < len(l.order); start += applyChunk {
		chunk := l.order[start:min(start+applyChunk, len(l.order))]
		err := guard(func() error {
			return updateTree(s.db, func(btx *bbolt.Tx) error { return s.applyPart(btx, l, chunk) })
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// applyPart writes the last change of each ID of chunk, of layer l, to
// the tree in btx, and raises the tree's sequence to the layer's.
func (s *Store) applyPart(btx *bbolt.Tx, l *layer, chunk []revoke.ID) error {
	t, err := s.begin(btx)
	if err != nil {
		return err
	}
	for _, id := range chunk {
		vs := l.m[id]
		if c := vs[len(vs)-1].c; c.deleted {
			err = t.delete(id)
		} else {
			err = t.put(c.rec)
		}
		if err != nil {
			return err
		}
	}
	return t.raiseSeq(l.seq)
}

// openJournal replays the journal segments of the store into the tree and
// deletes them, or, for a read-only database, loads them into the overlay.
// A writable store is then upgraded to FormatVersion if it is of an older
// one and, when start, gets a journal and its applier.
func (s *Store) openJournal(path string, o options, start bool) error {
	prefix := journalPrefix(path, string(s.bucket))
	ns, err := segments(prefix)
	if err != nil {
		return fmt.Errorf("listing the journal: %w", err)
	}
	commits, err := readJournal(prefix, ns)
	if err != nil {
		return err
	}
	s.ov = newOverlay()
	if s.readOnly {
		for _, ws := range commits {
			for _, w := range ws {
				s.ov.publish(w)
			}
		}
	} else {
		if err := s.replay(prefix, ns, commits); err != nil {
			return err
		}
		if err := guard(s.upgrade); err != nil {
			return err
		}
	}
	if s.readOnly || !start {
		if s.ov.active.n == 0 {
			s.ov = nil // nothing to read over the tree
		}
		return nil
	}
	if err := removeHalfCreated(prefix); err != nil {
		return err
	}
	s.jr = &journal{
		prefix: prefix, mode: o.mode, noSync: o.noSync, n: 1,
		batch: o.applyBatch, interval: o.applyInterval, limit: applyLimitFactor * o.applyBatch,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
		wmu: make(writeLock, 1),
	}
	go s.applier()
	return nil
}

// replay writes the commits of the segments numbered ns of the journal at
// prefix to the tree, in order, deleting each segment once written, and
// makes the deletions durable.
func (s *Store) replay(prefix string, ns []uint64, commits [][]*writeSet) error {
	for i, n := range ns {
		l := newOverlay()
		for _, w := range commits[i] {
			l.publish(w)
		}
		if err := s.applyLayer(l.active); err != nil {
			return fmt.Errorf("replaying journal segment %d: %w", n, err)
		}
		if err := os.Remove(segmentPath(prefix, n)); err != nil {
			return fmt.Errorf("removing replayed journal segment %d: %w", n, err)
		}
	}
	if len(ns) > 0 && !s.db.NoSync {
		// Durably gone before anything newer is committed: a Store from
		// New commits to the tree without touching the directory.
		if err := syncDir(filepath.Dir(prefix)); err != nil {
			return fmt.Errorf("syncing the journal's directory: %w", err)
		}
	}
	return nil
}

// closeJournal stops the applier and applies everything, so that a
// cleanly closed store is its database file alone.
func (s *Store) closeJournal() error {
	j := s.jr
	close(j.stop)
	<-j.done
	var err error
	for range 2 { // a frozen layer left by a failure, then the active one
		if err = s.applyOnce(); err != nil {
			break
		}
	}
	j.wmu.Lock()
	if j.w != nil {
		err = errors.Join(err, j.w.f.Close())
		j.w = nil
	}
	j.wmu.Unlock()
	if err == nil {
		err = removeSegments(j.prefix, j.n, j.noSync)
	}
	return err
}

// Checkpoint applies to the database file every write acknowledged before
// it was called, and deletes the journal segments that held them, so that
// the database file alone (a copy of it, a backup) holds them. A store
// from New, which commits to the tree directly, has nothing to do. On a
// read-only store it returns an error wrapping revoke.ErrReadOnly when there is a
// journal it cannot apply.
func (s *Store) Checkpoint(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt: Checkpoint: %w", err)
	}
	if err := s.enter(); err != nil {
		return fmt.Errorf("bolt: Checkpoint: %w", err)
	}
	defer s.active.Done()
	if s.jr == nil {
		if s.ov != nil {
			return fmt.Errorf("bolt: Checkpoint: %w: the journal cannot be applied to a read-only database", errReadOnly)
		}
		return nil
	}
	if err := s.jr.err(); err != nil {
		return fmt.Errorf("bolt: Checkpoint: the store failed and must be reopened: %w", err)
	}
	for range 2 { // a frozen layer being applied, then the active one
		if err := s.applyOnce(); err != nil {
			return fmt.Errorf("bolt: Checkpoint: %w", err)
		}
	}
	return nil
}
