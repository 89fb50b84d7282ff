package mysql

import (
	"fmt"
	"strings"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// Option configures a Store made by Open or New. An invalid one makes them
// fail with an error wrapping revoke.ErrInvalidOption.
type Option func(*options)

// Defaults and bounds of the options.
const (
	// DefaultTablePrefix begins the Store's table names (revoke_tokens, ...).
	DefaultTablePrefix = "revoke_"
	// DefaultLockTimeout bounds a write transaction's wait for the lock.
	DefaultLockTimeout = 5 * time.Second
	// DefaultStatementTimeout bounds each statement.
	DefaultStatementTimeout = 30 * time.Second
	// MaxTablePrefixLength keeps table names within 64 characters.
	MaxTablePrefixLength = 48
)

type options struct {
	prefix                   string
	lockTimeout, stmtTimeout time.Duration
	relaxed                  bool
}

func buildOptions(opts []Option) (options, error) {
	o := options{prefix: DefaultTablePrefix, lockTimeout: DefaultLockTimeout, stmtTimeout: DefaultStatementTimeout}
	for _, opt := range opts {
		if opt == nil {
			return o, fmt.Errorf("mysql: invalid option: nil Option: %w", revoke.ErrInvalidOption)
		}
		opt(&o)
	}
	var bad string
	switch day := 24 * time.Hour; {
	case strings.Trim(o.prefix, "abcdefghijklmnopqrstuvwxyz0123456789_") != "" || len(o.prefix) > MaxTablePrefixLength:
		bad = fmt.Sprintf("table prefix %q: want at most %d lowercase ASCII letters, digits and '_'", o.prefix, MaxTablePrefixLength)
	case o.lockTimeout < time.Second || o.lockTimeout > day:
		bad = fmt.Sprintf("lock timeout %v is not between 1s and 24h", o.lockTimeout)
	case o.stmtTimeout < time.Millisecond || o.stmtTimeout > day:
		bad = fmt.Sprintf("statement timeout %v is not between 1ms and 24h", o.stmtTimeout)
	default:
		return o, nil
	}
	return o, fmt.Errorf("mysql: invalid option: %s: %w", bad, revoke.ErrInvalidOption)
}

// WithTablePrefix sets the prefix of the Store's table names, so that
// Stores can share a database: up to MaxTablePrefixLength lowercase ASCII
// letters, digits and '_' (the same whatever lower_case_table_names says).
func WithTablePrefix(prefix string) Option { return func(o *options) { o.prefix = prefix } }

// WithLockTimeout sets how long a write transaction waits for the write
// lock (default DefaultLockTimeout), between 1s and 24h, rounded up to
// whole seconds (innodb_lock_wait_timeout); a longer wait fails with an
// error wrapping revoke.ErrUnavailable. Open and New wait as long for the
// migration lock.
func WithLockTimeout(d time.Duration) Option { return func(o *options) { o.lockTimeout = d } }

// WithStatementTimeout bounds each statement, between 1ms and 24h: one
// over it has its connection closed, rolling its transaction back, and
// fails with an error wrapping revoke.ErrUnavailable. Keep it above the
// time a Revoker's start takes to load every revocation.
func WithStatementTimeout(d time.Duration) Option { return func(o *options) { o.stmtTimeout = d } }

// WithRelaxedDurability accepts a server that acknowledges commits before
// they are on disk (innodb_flush_log_at_trx_commit not 1, or the binary
// log on with sync_binlog not 1), which Open and New otherwise refuse with
// ErrDurability: a server crash could lose the last second of commits, and
// tokens revoked just before it would come back as live.
func WithRelaxedDurability() Option { return func(o *options) { o.relaxed = true } }
