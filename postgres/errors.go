package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sdkauth/revocation/revoke"
)

// Errors of this package. Its other errors wrap those of package revoke
// (ErrClosed, ErrUnavailable, ErrCorrupt, ErrVersion, ErrReadOnly,
// ErrInvalidOption) or the context's; all wrap the driver's error where
// there is one.
var (
	// ErrDurability is returned by Open and New when the server commits
	// with synchronous_commit or fsync off, so that an acknowledged
	// revocation could be lost in a server crash, and
	// WithSynchronousCommitOff was not given.
	ErrDurability = errors.New("postgres: the server may acknowledge commits that a crash loses")

	// ErrNotMigrated is returned by Open and New WithReadOnly when the
	// prefix's tables do not exist: a read-only Store creates none (a
	// mistyped WithTablePrefix or WithSchema is the usual cause). It wraps
	// revoke.ErrReadOnly.
	ErrNotMigrated = fmt.Errorf("postgres: no tables, and a read-only Store creates none: %w", revoke.ErrReadOnly)
)

// errZeroStore is returned by every method of a Store that was not made by
// Open or New.
var errZeroStore = errors.New("postgres: the zero Store is not usable; create it with Open or New")

// optionErr returns an error wrapping revoke.ErrInvalidOption.
func optionErr(format string, args ...any) error {
	return fmt.Errorf("postgres: invalid option: %s: %w", fmt.Sprintf(format, args...), revoke.ErrInvalidOption)
}

// corrupt returns an error wrapping revoke.ErrCorrupt.
func corrupt(format string, args ...any) error {
	return fmt.Errorf("postgres: unexpected data: %s: %w", fmt.Sprintf(format, args...), revoke.ErrCorrupt)
}

// wrapf returns the error "postgres: <what>: <err>" wrapping err, and also
// revoke.ErrUnavailable when err says the server cannot serve now.
func wrapf(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if unavailable(err) {
		return fmt.Errorf("postgres: %s: %w (%w)", what, err, revoke.ErrUnavailable)
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// unavailable reports whether a driver error says the server cannot serve
// now (unreachable, connection lost, shutting down, lock or statement
// timeout). A context error is the caller's (pgx reports a statement it
// interrupted this way too).
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01", "57P02", "57P03", // shutdown, crash, cannot connect now
			"53300",          // too many connections
			"55P03",          // lock_not_available: lock_timeout
			"57014",          // query_canceled: statement_timeout
			"40001", "40P01", // serialization failure, deadlock
			"25006", // read-only transaction: a standby
			"25P03": // idle_in_transaction_session_timeout ended the session
			return true
		}
		return len(pe.Code) == 5 && pe.Code[:2] == "08" // connection exception
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		pgconn.Timeout(err) || isClosedConn(err)
}

// isClosedConn reports the errors pgx returns for a connection that died
// under a statement.
func isClosedConn(err error) bool {
	var ce interface{ SafeToRetry() bool }
	if errors.As(err, &ce) && ce.SafeToRetry() {
		return true
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		switch e.Error() {
		case "conn closed", "conn busy", "unexpected EOF":
			return true
		}
	}
	return false
}
