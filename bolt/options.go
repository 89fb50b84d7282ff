package bolt

import (
	"fmt"
	"io/fs"
	"time"
)

// Defaults of the options.
const (
	// DefaultTimeout is how long Open waits for the file lock that another
	// handle holds before it fails with ErrLocked.
	DefaultTimeout = time.Second
	// DefaultBucket is the name of the top-level bucket that holds the
	// store.
	DefaultBucket = "revocation"
	// DefaultFileMode is the permission a new database file is created
	// with.
	DefaultFileMode fs.FileMode = 0o600
)

// Option configures Open or New. An invalid one makes them fail with an
// error wrapping revoke.ErrInvalidOption.
type Option func(*options)

type options struct {
	timeout  time.Duration
	noSync   bool
	readOnly bool
	mode     fs.FileMode
	bucket   string
	// The applier's batch (see journal).
	applyBatch    int
	applyInterval time.Duration
	// fileOnly names the options given that only Open can honour.
	fileOnly []string
}

func defaultOptions() options {
	return options{
		timeout: DefaultTimeout, mode: DefaultFileMode, bucket: DefaultBucket,
		applyBatch: defaultApplyBatch, applyInterval: defaultApplyInterval,
	}
}

func buildOptions(opts []Option) (options, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			return o, fmt.Errorf("%w: nil Option", errOption)
		}
		opt(&o)
	}
	switch {
	case o.bucket == "":
		return o, fmt.Errorf("%w: WithBucket: empty bucket name", errOption)
	case o.applyBatch <= 0 || o.applyInterval <= 0:
		return o, fmt.Errorf("%w: the journal's batch of %d changes or %v is not positive", errOption, o.applyBatch, o.applyInterval)
	case o.mode&^fs.ModePerm != 0:
		return o, fmt.Errorf("%w: WithFileMode: %v is not a permission mode", errOption, o.mode)
	}
	return o, nil
}

// WithTimeout sets how long Open waits for the lock on the file when another
// handle holds it, then fails with ErrLocked. The default is DefaultTimeout.
// Zero or a negative d means "do not wait": Open fails at once if the file
// is locked. Open never waits forever. Only Open takes it; New returns an
// error, since the *bbolt.DB is already open.
func WithTimeout(d time.Duration) Option {
	return func(o *options) {
		o.timeout = d
		o.fileOnly = append(o.fileOnly, "WithTimeout")
	}
}

// WithNoSync turns off the fsyncs: the journal's at the end of every commit,
// and bbolt's when the journal is written to the tree. Commits get cheaper,
// and a process crash still loses nothing (the writes are in the operating
// system's page cache), but an operating-system crash or power loss can
// lose acknowledged revocations or leave the file corrupt. Use it
// for tests and caches, never where a lost revocation matters. Only Open
// takes it; New returns an error, since durability belongs to whoever opened
// the *bbolt.DB (its NoSync field).
func WithNoSync() Option {
	return func(o *options) {
		o.noSync = true
		o.fileOnly = append(o.fileOnly, "WithNoSync")
	}
}

// WithReadOnly opens the file read-only, under a shared lock that other
// read-only handles may hold at the same time but a writer may not. The file
// must already hold a store. A journal a crash left beside it is read into
// memory, not replayed: the handle sees every acknowledged write and writes
// nothing. View works; Update returns an error wrapping
// revoke.ErrReadOnly, so a Revoker over it answers IsRevoked but fails Issue,
// Revoke and Purge. Only Open takes it: for New, open the *bbolt.DB with
// bbolt.Options.ReadOnly and New sees that.
func WithReadOnly() Option {
	return func(o *options) {
		o.readOnly = true
		o.fileOnly = append(o.fileOnly, "WithReadOnly")
	}
}

// WithFileMode sets the permission bits Open creates a new file with; the
// default is DefaultFileMode (0600). The process umask applies. Only Open
// takes it; New returns an error.
func WithFileMode(mode fs.FileMode) Option {
	return func(o *options) {
		o.mode = mode
		o.fileOnly = append(o.fileOnly, "WithFileMode")
	}
}

// WithBucket sets the name of the top-level bucket that holds the store, so
// that an application's database can hold its own buckets beside it, or
// several stores. The default is DefaultBucket.
func WithBucket(name string) Option {
	return func(o *options) { o.bucket = name }
}
