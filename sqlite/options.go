package sqlite

import (
	"fmt"
	"time"
)

// Option configures a Store opened by Open or New.
type Option func(*options)

// Synchronous is how hard a commit works to reach stable storage: the
// setting of SQLite's synchronous pragma on the connections that write.
type Synchronous int

// The settings of WithSynchronous. The zero value is SynchronousFull.
const (
	// SynchronousFull (the default) syncs the write-ahead log on every
	// commit: a commit that returned survives a power loss or an operating
	// system crash.
	SynchronousFull Synchronous = iota
	// SynchronousNormal syncs the write-ahead log only at checkpoints.
	// Commits are faster and still survive the process being killed, and
	// the database stays consistent, but the last commits before a power
	// loss or an operating system crash may be lost: tokens revoked just
	// before it may come back as live. Choose it only if that is acceptable.
	SynchronousNormal
	// SynchronousExtra is SynchronousFull plus a sync of the directory
	// after a journal is deleted. In WAL mode it makes no difference.
	SynchronousExtra
)

// String returns the pragma value: "FULL", "NORMAL" or "EXTRA".
func (s Synchronous) String() string {
	switch s {
	case SynchronousFull:
		return "FULL"
	case SynchronousNormal:
		return "NORMAL"
	case SynchronousExtra:
		return "EXTRA"
	}
	return fmt.Sprintf("Synchronous(%d)", int(s))
}

// level is the pragma's numeric value, as PRAGMA synchronous reports it.
func (s Synchronous) level() int {
	switch s {
	case SynchronousNormal:
		return 1
	case SynchronousExtra:
		return 3
	}
	return 2
}

// Defaults of the options.
const (
	// DefaultTablePrefix is put before the names of the tables the Store
	// keeps: revoke_tokens and revoke_meta.
	DefaultTablePrefix = "revoke_"
	// DefaultBusyTimeout is how long a transaction waits for another
	// process's write lock (or another connection's) before it fails.
	DefaultBusyTimeout = 5 * time.Second
)

// maxPrefixLen bounds a table prefix; SQLite itself has no limit.
const maxPrefixLen = 64

type options struct {
	prefix      string
	busyTimeout time.Duration
	sync        Synchronous
	readOnly    bool
	err         error // the first invalid option
}

func buildOptions(opts []Option) (options, error) {
	o := options{prefix: DefaultTablePrefix, busyTimeout: DefaultBusyTimeout, sync: SynchronousFull}
	for _, opt := range opts {
		if opt == nil {
			return o, fmt.Errorf("%w: nil Option", errOption)
		}
		opt(&o)
	}
	return o, o.err
}

func (o *options) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

// WithTablePrefix sets the prefix of the Store's table and index names
// (default DefaultTablePrefix), so that the tables can sit beside an
// application's own and two Stores can share one database. The prefix may
// hold ASCII letters, digits and underscores only, at most 64 of them; it
// may be empty. SQLite compares names regardless of case, so prefixes that
// differ only in case name the same tables. Open and New return an error
// wrapping revoke.ErrInvalidOption for any other prefix.
func WithTablePrefix(prefix string) Option {
	return func(o *options) {
		if len(prefix) > maxPrefixLen {
			o.fail(fmt.Errorf("%w: table prefix is longer than %d characters", errOption, maxPrefixLen))
			return
		}
		for _, c := range prefix {
			if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				o.fail(fmt.Errorf("%w: table prefix %q: only ASCII letters, digits and '_' are allowed", errOption, prefix))
				return
			}
		}
		o.prefix = prefix
	}
}

// WithBusyTimeout sets how long a transaction waits for a lock another
// connection or process holds before it fails with SQLite's "database is
// locked" (default DefaultBusyTimeout). It is applied with millisecond
// precision; zero means fail at once. Open and New return an error wrapping
// revoke.ErrInvalidOption for a negative d.
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) {
		if d < 0 {
			o.fail(fmt.Errorf("%w: negative busy timeout %v", errOption, d))
			return
		}
		o.busyTimeout = d
	}
}

// WithSynchronous sets the durability of commits (default SynchronousFull).
// SynchronousNormal trades durability against power loss for speed; see its
// documentation. Open and New return an error wrapping revoke.ErrInvalidOption for a value
// that is not one of the constants.
func WithSynchronous(s Synchronous) Option {
	return func(o *options) {
		switch s {
		case SynchronousFull, SynchronousNormal, SynchronousExtra:
			o.sync = s
		default:
			o.fail(fmt.Errorf("%w: unknown %v", errOption, s))
		}
	}
}

// WithReadOnly opens the Store for reading only, as bolt.WithReadOnly does
// for a bbolt file: nothing is created or written. The database must
// already hold the prefix's tables at this package's schema version; Open
// and New fail with an error wrapping ErrNotMigrated (and revoke.ErrReadOnly)
// when the tables are missing, and with revoke.ErrVersion at another version. Open opens the file read-only (SQLite's mode=ro), so it
// reads a file it may not write, and fails rather than create a file that
// does not exist; it leaves the journal mode as the file has it. View works;
// Update returns an error wrapping revoke.ErrReadOnly, so a revoke.Revoker over the
// Store answers IsRevoked, following other processes' revocations as usual,
// but fails Issue, Revoke and Purge.
func WithReadOnly() Option {
	return func(o *options) { o.readOnly = true }
}
