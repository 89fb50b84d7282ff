package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sdkauth/revocation/revoke"
	bbolt "go.etcd.io/bbolt"
)

// Store is a revoke.Store in a bbolt database. It is safe for concurrent
// use. Create it with Open (the Store owns the file) or New (the
// application owns the *bbolt.DB). The zero Store is not usable: its
// methods return an error.
type Store struct {
	db       *bbolt.DB
	own      bool
	bucket   []byte
	readOnly bool

	// ov holds the journal's commits that the tree does not hold yet, nil
	// when there are none to read (New, or a read-only store without a
	// journal); jr is the journal that Updates commit to, nil when they
	// commit to the tree directly (New) or not at all (read-only).
	ov  *overlay
	jr  *journal
	rtx readTxCache // the read transactions Views over ov reuse

	mu     sync.Mutex
	closed bool
	active sync.WaitGroup // View and Update calls under way
}

var _ revoke.Store = (*Store)(nil)

// The layout inside the top-level bucket (see the package documentation).
var (
	bucketRecords   = []byte("records")
	bucketIDs       = []byte("ids")
	bucketGrantKeys = []byte("grantkeys")
	bucketExpiry    = []byte("expiry")
	bucketRevoked   = []byte("revoked")
	bucketMeta      = []byte("meta")
	bucketOwners    = []byte("owners")

	keyVersion  = []byte("version")
	keySeq      = []byte("seq")
	keyGrantSeq = []byte("grantseq")

	subBuckets = [][]byte{bucketRecords, bucketIDs, bucketGrantKeys, bucketExpiry, bucketRevoked, bucketMeta, bucketOwners}
)

// FormatVersion is the version of the on-disk layout this package writes and
// reads. It is stored in the meta bucket; a store of another version is
// refused with revoke.ErrVersion. Version 3 keys records by a time-ordered grant
// key, indexes every token by ID, and keeps one owners entry per grant.
// Version 4 has the tree of version 3 and a journal beside the file
// (see the package documentation, Durability): a package that knows only
// version 3 would ignore the journal and lose the writes it holds, so it
// must refuse the store. Version 5 adds a record's Token Status List entry
// (revoke.Record.Status) to its record and its revocation index entry: the
// records of versions 3 and 4 read as they are, with the zero StatusRef,
// but a package that knows only version 4 would refuse a record that has
// one as damaged. A writable Open or New upgrades a version 3 or 4 store
// by writing the version; a read-only one reads it as it is.
const FormatVersion = 5

// Open opens the store in the bbolt database file at path, creating the
// file (mode 0600 unless WithFileMode) and the store's buckets if they do
// not exist. The Store owns the file: Close closes it. The file is locked
// for the Store's lifetime; while another handle holds it, Open waits up to
// the lock timeout (see WithTimeout) and then fails with ErrLocked.
//
// Open replays the store's journal (see the package documentation,
// Durability), if a crash left one, into the file before it returns: the
// commits acknowledged before the crash are in the tree, and a torn or
// damaged last frame, a commit that was never acknowledged, is dropped. A
// read-only Open (WithReadOnly) reads the journal without writing.
//
// Open refuses a file that is not a bbolt database or is truncated
// (revoke.ErrCorrupt), a journal damaged anywhere but at the end of its last
// segment (revoke.ErrCorrupt, leaving every file as it is), a store of an unknown
// format version (revoke.ErrVersion), and a file, or a directory to create it in,
// without write permission (revoke.ErrReadOnly; see WithReadOnly to read such a
// file).
func Open(path string, opts ...Option) (*Store, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Store, error) {
		return nil, fmt.Errorf("bolt: open %s: %w", path, err)
	}
	if err := preflight(path, o); err != nil {
		return fail(err)
	}
	timeout := o.timeout
	if timeout <= 0 {
		timeout = time.Nanosecond // one attempt: bbolt's zero waits forever
	}
	var file *os.File
	bo := &bbolt.Options{
		Timeout:        timeout,
		NoSync:         o.noSync,
		ReadOnly:       o.readOnly,
		NoFreelistSync: noFreelistSync,
		FreelistType:   freelistType,
		OpenFile: func(name string, flag int, perm fs.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			file = f
			return f, err
		},
	}
	var db *bbolt.DB
	err = guard(func() error {
		var err error
		db, err = bbolt.Open(path, o.mode, bo)
		return err
	})
	if err != nil {
		if errors.Is(err, errPanicked) && file != nil {
			// bbolt panicked with the file open, locked and mapped into
			// memory. The mapping is lost with bbolt's DB (it stays until
			// the process ends), and it would hold the lock: release the
			// lock, then close the file. (When bbolt returns an error
			// it has closed the file itself.)
			unlock(file)
			_ = file.Close()
		}
		return fail(openError(err, o.timeout))
	}
	s, err := newStore(db, o, true)
	if err != nil {
		_ = db.Close()
		return fail(err)
	}
	if err := s.openJournal(path, o, true); err != nil {
		release(db, o.bucket)
		_ = db.Close()
		return fail(err)
	}
	return s, nil
}

// New returns a Store in db, an application's open bbolt database, creating
// the store's top-level bucket (see WithBucket) if it does not exist. The
// application's other buckets are left alone. A Store from New has no
// journal: every Update is one bbolt read-write transaction, committed as
// db commits (with bbolt's two fsyncs unless db.NoSync). A journal of the
// bucket that a Store from Open left beside db.Path() when its process
// crashed is replayed into db first (or, for a read-only db, read).
//
// Close closes the Store, not db: the application closes db after the
// Store. db's NoSync and read-only settings apply as the application chose
// them; the options that concern opening a file (WithTimeout, WithNoSync,
// WithReadOnly, WithFileMode) are refused. While a Store over a bucket of db is open, New refuses a second
// one over the same bucket with an error wrapping revoke.ErrStoreInUse:
// bbolt serves one process, so two Revokers over the same data would never
// learn each other's revocations; share the first Store's Revoker instead.
func New(db *bbolt.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, fmt.Errorf("bolt: New: %w: nil *bbolt.DB", errOption)
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	if len(o.fileOnly) > 0 {
		return nil, fmt.Errorf("bolt: New: %w: %s only apply to Open; configure the *bbolt.DB instead", errOption, strings.Join(o.fileOnly, ", "))
	}
	s, err := newStore(db, o, false)
	if err != nil {
		return nil, fmt.Errorf("bolt: New: %w", err)
	}
	// A journal left by a Store from Open that did not close: replayed
	// into the tree (or read, if db is read-only), since New commits to the
	// tree directly.
	if err := s.openJournal(db.Path(), o, false); err != nil {
		release(db, o.bucket)
		return nil, fmt.Errorf("bolt: New: %w", err)
	}
	return s, nil
}

func newStore(db *bbolt.DB, o options, own bool) (*Store, error) {
	if err := claim(db, o.bucket); err != nil {
		return nil, err
	}
	s := &Store{db: db, own: own, bucket: []byte(o.bucket), readOnly: db.IsReadOnly()}
	if err := guard(s.init); err != nil {
		release(db, o.bucket)
		return nil, err
	}
	return s, nil
}

// errNoStore reports a database without the store's top-level bucket.
var errNoStore = errors.New("no store")

// init checks the store's layout and creates it if the database has none.
// An existing store is only read, so that opening never commits, but for
// the one upgrade of a version 3 or 4 store to FormatVersion, which
// openJournal makes once the journal is replayed (see upgrade).
func (s *Store) init() error {
	err := s.db.View(func(btx *bbolt.Tx) error { return checkLayout(btx, s.bucket) })
	if errors.Is(err, errUpgrade) {
		return nil // the layout of versions 3 and 4 is read as it is
	}
	if !errors.Is(err, errNoStore) {
		return err
	}
	if s.readOnly {
		return fmt.Errorf("%w: the database is read-only and holds no store in bucket %q", errReadOnly, s.bucket)
	}
	return s.db.Update(func(btx *bbolt.Tx) error {
		err := checkLayout(btx, s.bucket)
		if !errors.Is(err, errNoStore) {
			return err // created meanwhile (New), or damaged
		}
		top, err := btx.CreateBucketIfNotExists(s.bucket)
		if err != nil {
			return fmt.Errorf("creating bucket %q: %w", s.bucket, err)
		}
		for _, name := range subBuckets {
			if _, err := top.CreateBucket(name); err != nil {
				return fmt.Errorf("creating bucket %q/%q: %w", s.bucket, name, err)
			}
		}
		v := binary.BigEndian.AppendUint32(nil, FormatVersion)
		if err := top.Bucket(bucketMeta).Put(keyVersion, v); err != nil {
			return fmt.Errorf("writing the format version: %w", err)
		}
		return checkLayout(btx, s.bucket)
	})
}

// upgrade writes FormatVersion over the version of a version 3 or 4
// store. Open and New call it once the journal is checked and replayed, so
// that a store whose journal they refuse is left as it is.
func (s *Store) upgrade() error {
	err := s.db.View(func(btx *bbolt.Tx) error { return checkLayout(btx, s.bucket) })
	if !errors.Is(err, errUpgrade) {
		return err
	}
	return s.db.Update(func(btx *bbolt.Tx) error {
		v := binary.BigEndian.AppendUint32(nil, FormatVersion)
		if err := btx.Bucket(s.bucket).Bucket(bucketMeta).Put(keyVersion, v); err != nil {
			return fmt.Errorf("upgrading the format version: %w", err)
		}
		return checkLayout(btx, s.bucket)
	})
}

// checkLayout returns errNoStore when btx has no bucket name (or an empty
// one), nil when it holds a store of FormatVersion, and an error wrapping
// revoke.ErrVersion or revoke.ErrCorrupt otherwise.
func checkLayout(btx *bbolt.Tx, name []byte) error {
	top := btx.Bucket(name)
	if top == nil {
		return errNoStore
	}
	if k, _ := top.Cursor().First(); k == nil {
		return errNoStore // an empty bucket, made by the application: use it
	}
	meta := top.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("%w: bucket %q holds no meta bucket: not a revocation store", errCorrupt, name)
	}
	v := meta.Get(keyVersion)
	switch {
	case v == nil:
		return fmt.Errorf("%w: bucket %q holds no format version", errCorrupt, name)
	case len(v) != 4:
		return fmt.Errorf("%w: format version of %d bytes, want 4", errCorrupt, len(v))
	}
	upgrade := false
	switch ver := binary.BigEndian.Uint32(v); {
	case ver == 3 || ver == 4:
		upgrade = true
	case ver > FormatVersion:
		return fmt.Errorf("%w: the store has format version %d, newer than this package's %d: upgrade the package", errVersion, ver, FormatVersion)
	case ver != FormatVersion:
		return fmt.Errorf("%w: the store has unknown format version %d (this package reads %d)", errVersion, ver, FormatVersion)
	}
	for _, sub := range subBuckets {
		if top.Bucket(sub) == nil {
			return fmt.Errorf("%w: bucket %q/%q is missing", errCorrupt, name, sub)
		}
	}
	if _, err := storedSeq(meta); err != nil {
		return err
	}
	if upgrade {
		return errUpgrade
	}
	return nil
}

// errUpgrade reports a store of format version 3 or 4, which a writable
// Open or New upgrades to FormatVersion by writing the version: the tree's
// layout is the same (a record without a Status is encoded as before), and
// the version tells older packages, which know nothing of the journal
// (version 3) or of a record's Status (versions 3 and 4), to keep off.
var errUpgrade = errors.New("format version 3 or 4")

// Capabilities returns the zero Capabilities: a Store serves one process
// (the file is locked, and New refuses a second Store over a bucket), has
// no clock of its own and announces nothing.
func (s *Store) Capabilities() revoke.Capabilities { return revoke.Capabilities{} }

// View runs fn in a read-only transaction, which sees a consistent
// snapshot (of the journal's commits not yet in the tree, taken before a
// bbolt read transaction of the tree) and runs concurrently with other
// Views, with an Update and with the journal's applier.
func (s *Store) View(ctx context.Context, fn func(revoke.Tx) error) error {
	return s.run(ctx, false, fn)
}

// Update runs fn in a read-write transaction and commits it if fn returns
// nil and ctx is not done. Updates run one at a time. If fn returns an
// error, Update returns it as is and nothing fn wrote is kept.
//
// On a Store from Open, fn's writes are kept in memory until it returns,
// then appended to the journal as one frame, with one write and one
// fdatasync (none under WithNoSync), and only then made visible and
// acknowledged; the tree is written later, in batches (see the package
// documentation, Durability). If that write or sync fails, Update returns
// an error wrapping revoke.ErrUnavailable, and the Store refuses every
// later Update with one too, since what reached the disk is unknown: close
// it and open the file again, which replays the journal up to the last
// intact frame. The same holds when writing a batch
// to the tree, or making the deletion of its journal segment durable,
// fails. An Update waits, before it reads anything, while the
// journal holds more commits than the applier has caught up with (four
// batches); ctx bounds the wait. On a Store from New, Update is one bbolt
// read-write transaction.
func (s *Store) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	return s.run(ctx, true, fn)
}

func (s *Store) run(ctx context.Context, write bool, fn func(revoke.Tx) error) error {
	op := "View"
	if write {
		op = "Update"
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bolt: %s: %w", op, err)
	}
	if err := s.enter(); err != nil {
		return fmt.Errorf("bolt: %s: %w", op, err)
	}
	defer s.active.Done()
	if write && s.readOnly {
		return fmt.Errorf("bolt: Update: %w: the database was opened read-only", errReadOnly)
	}
	if write && s.jr != nil {
		return s.updateJournaled(ctx, fn)
	}
	if !write && s.ov != nil {
		_, fnErr, err := s.runLayered(fn, false)
		switch {
		case fnErr != nil:
			return fnErr
		case err != nil:
			return fmt.Errorf("bolt: View: %w", err)
		}
		return nil
	}
	var fnErr error
	body := func(btx *bbolt.Tx) error {
		if err := ctx.Err(); err != nil { // cancelled while waiting for the writer lock
			return err
		}
		t, err := s.begin(btx)
		if err != nil {
			return err
		}
		if fnErr = fn(t); fnErr != nil {
			return fnErr
		}
		if write {
			return ctx.Err() // cancelled while fn ran: roll back
		}
		return nil
	}
	var err error
	if write {
		err = s.db.Update(body)
	} else {
		err = s.db.View(body)
	}
	switch {
	case err == nil:
		return nil
	case fnErr != nil && err == fnErr:
		return err
	default:
		return fmt.Errorf("bolt: %s: %w", op, err)
	}
}

// enter registers a View or Update, or returns revoke.ErrClosed.
func (s *Store) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return revoke.ErrClosed
	}
	if s.db == nil {
		return errZeroStore
	}
	s.active.Add(1)
	return nil
}

// Close waits for the View and Update calls under way, then, for a Store
// from Open, writes every journaled commit to the tree and deletes the
// journal, so that a cleanly closed store is its database file alone, and
// closes the file; a Store from New leaves the *bbolt.DB open. If writing
// the journal to the tree fails, Close still closes the file, returns the
// error and leaves the journal, which the next Open replays. Later calls of View, Update and Close return an error wrapping
// revoke.ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("bolt: Close: %w", revoke.ErrClosed)
	}
	if s.db == nil {
		s.mu.Unlock()
		return fmt.Errorf("bolt: Close: %w", errZeroStore)
	}
	s.closed = true
	s.mu.Unlock()
	s.active.Wait()
	s.rtx.drain()
	var err error
	if s.jr != nil {
		err = s.closeJournal()
	}
	release(s.db, string(s.bucket))
	if s.own {
		err = errors.Join(err, s.db.Close())
	}
	if err != nil {
		return fmt.Errorf("bolt: Close: %w", err)
	}
	return nil
}
