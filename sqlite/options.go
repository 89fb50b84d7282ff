package sqlite

import (
	"fmt"
	"math"
	"time"
)

// Option configures a Store opened by Open or New. An invalid one makes
// them fail with an error wrapping revoke.ErrInvalidOption.
type Option func(*options) error

// Synchronous is the setting of SQLite's synchronous pragma on the
// connections that write (see WithSynchronous).
type Synchronous int

// The settings of WithSynchronous. The zero value is SynchronousFull.
const (
	// SynchronousFull (the default) syncs the write-ahead log on every
	// commit: a commit that returned survives a power loss or an operating
	// system crash.
	SynchronousFull Synchronous = iota
	// SynchronousNormal syncs the write-ahead log only at checkpoints:
	// commits are faster and survive the process being killed, but the
	// last ones before a power loss or an operating system crash may be
	// lost, bringing tokens revoked just before it back to life.
	SynchronousNormal
)

// String returns the pragma value: "FULL" or "NORMAL".
func (s Synchronous) String() string {
	switch s {
	case SynchronousFull:
		return "FULL"
	case SynchronousNormal:
		return "NORMAL"
	}
	return fmt.Sprintf("Synchronous(%d)", int(s))
}

// level is the pragma's numeric value, as PRAGMA synchronous reports it.
func (s Synchronous) level() int64 { return 2 - int64(s) }

// Defaults of the options.
const (
	// DefaultTablePrefix is put before the names of the Store's tables.
	DefaultTablePrefix = "revoke_"
	// DefaultBusyTimeout is the default of WithBusyTimeout.
	DefaultBusyTimeout = 5 * time.Second
)

type options struct {
	prefix      string
	busyTimeout time.Duration
	sync        Synchronous
	readOnly    bool
}

func buildOptions(opts []Option) (options, error) {
	o := options{prefix: DefaultTablePrefix, busyTimeout: DefaultBusyTimeout}
	for _, opt := range opts {
		if opt == nil {
			return o, fmt.Errorf("%w: nil Option", errOption)
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// WithTablePrefix sets the prefix of the Store's table and index names
// (default DefaultTablePrefix), so that two Stores can share one database,
// beside the application's tables. It may hold ASCII letters, digits and
// underscores, at most 64 of them; it may be empty. SQLite ignores the
// case of names, so prefixes that differ only in case name the same tables.
func WithTablePrefix(prefix string) Option {
	return func(o *options) error {
		ok := len(prefix) <= 64
		for _, c := range prefix {
			ok = ok && (c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
		}
		if !ok {
			return fmt.Errorf("%w: table prefix %q: at most 64 ASCII letters, digits and '_'", errOption, prefix)
		}
		o.prefix = prefix
		return nil
	}
}

// WithBusyTimeout sets how long a transaction waits for a lock another
// connection or process holds (default DefaultBusyTimeout), to the
// millisecond; zero means fail at once. It may not be negative, nor above
// SQLite's limit of 2^31-1 milliseconds (about 24 days).
func WithBusyTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 || d.Milliseconds() > math.MaxInt32 {
			return fmt.Errorf("%w: busy timeout %v is outside [0, %v]", errOption, d, time.Duration(math.MaxInt32)*time.Millisecond)
		}
		o.busyTimeout = d
		return nil
	}
}

// WithSynchronous sets the durability of commits (default SynchronousFull).
func WithSynchronous(s Synchronous) Option {
	return func(o *options) error {
		if s != SynchronousFull && s != SynchronousNormal {
			return fmt.Errorf("%w: unknown %v", errOption, s)
		}
		o.sync = s
		return nil
	}
}

// WithReadOnly opens the Store for reading only: nothing is created or
// written, and the prefix's tables must exist (Open and New fail with
// ErrNotMigrated otherwise). Open opens the file read-only (SQLite's
// mode=ro), fails for a file that does not exist, and leaves the journal
// mode as the file has it. View works; Update returns an error wrapping
// revoke.ErrReadOnly, so a revoke.Revoker over the Store follows other
// processes' revocations but fails Issue, Revoke and Purge.
func WithReadOnly() Option {
	return func(o *options) error { o.readOnly = true; return nil }
}
