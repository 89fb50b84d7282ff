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

// Errors returned by this package, besides revoke.ErrClosed,
// revoke.ErrUnavailable and the context's errors. Compare them with
// errors.Is; the errors returned wrap them with detail, and wrap the
// driver's error where there is one.
var (
	// ErrVersion is returned by Open and New when the database holds this
	// Store's tables at a schema version newer than this package knows: a
	// newer release of the library has migrated them. Nothing is changed.
	ErrVersion = fmt.Errorf("postgres: schema version is newer than this package supports: %w", revoke.ErrVersion)

	// ErrOption is returned by Open and New for an invalid Option or DSN.
	ErrOption = fmt.Errorf("postgres: invalid option: %w", revoke.ErrInvalidOption)

	// ErrDurability is returned by Open and New when the server commits
	// with synchronous_commit off, so that an acknowledged revocation could
	// be lost in a server crash, and WithSynchronousCommitOff was not
	// given.
	ErrDurability = errors.New("postgres: synchronous_commit is off")

	// ErrPermission is returned by Open and New when the role may not
	// create or use the Store's tables (SQLSTATE class 42501).
	ErrPermission = errors.New("postgres: permission denied")

	// ErrReadOnly is returned by Update on a Store opened WithReadOnly, and
	// wrapped by the errors of ErrNotMigrated.
	ErrReadOnly = fmt.Errorf("postgres: read-only: %w", revoke.ErrReadOnly)

	// ErrNotMigrated is returned by Open and New WithReadOnly when the
	// prefix's tables do not exist, or are at an older schema version than
	// this package's: a read-only Store creates and migrates nothing. (A
	// mistyped WithTablePrefix or WithSchema is the usual cause.)
	ErrNotMigrated = errors.New("postgres: the tables are missing or at an older schema version")

	// ErrCorrupt is returned when a stored row does not have the shape
	// this package writes.
	ErrCorrupt = fmt.Errorf("postgres: unexpected data in the tables: %w", revoke.ErrCorrupt)
)

// wrapf returns the error "postgres: <what>: <err>" wrapping err, and also
// wrapping revoke.ErrUnavailable when err says the server cannot serve now
// (unreachable, connection lost, shutting down, lock or statement timeout)
// or ErrPermission for a privilege error. A context error is wrapped as it
// is.
func wrapf(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if kind := classify(err); kind != nil {
		return fmt.Errorf("postgres: %s: %w (%w)", what, err, kind)
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// classify maps a driver error to the sentinel it stands for, or nil.
func classify(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// The caller's context; pgx reports a statement it interrupted
		// this way too.
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "42501":
			return ErrPermission
		case len(pe.Code) == 2+3 && pe.Code[:2] == "08", // connection exception
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03", // shutdown, crash, cannot connect now
			pe.Code == "53300",                     // too many connections
			pe.Code == "55P03",                     // lock_not_available: lock_timeout
			pe.Code == "57014",                     // query_canceled: statement_timeout
			pe.Code == "40001", pe.Code == "40P01", // serialization failure, deadlock
			pe.Code == "25006", // read-only transaction: a standby
			pe.Code == "25P03": // idle_in_transaction_session_timeout ended the session
			return revoke.ErrUnavailable
		}
		return nil
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.As(err, &ce), errors.As(err, &ne),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		pgconn.Timeout(err), isClosedConn(err):
		return revoke.ErrUnavailable
	}
	return nil
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

// errZeroStore is returned by every method of a Store that was not made by
// Open or New.
var errZeroStore = errors.New("postgres: the zero Store is not usable; create it with Open or New")
