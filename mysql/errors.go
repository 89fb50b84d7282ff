package mysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/sdkauth/revocation/revoke"
)

// Errors returned by this package, besides revoke.ErrClosed,
// revoke.ErrUnavailable and the context's errors. Compare them with
// errors.Is; the errors returned wrap them with detail, and the driver's
// error where there is one.
var (
	// ErrVersion is returned by Open and New when the tables are at a
	// schema version newer than this package knows. Nothing is changed.
	ErrVersion = fmt.Errorf("mysql: schema version is newer than this package supports: %w", revoke.ErrVersion)
	// ErrOption is returned by Open and New for an invalid Option or DSN.
	ErrOption = fmt.Errorf("mysql: invalid option: %w", revoke.ErrInvalidOption)
	// ErrDurability is returned by Open and New for a server that may
	// acknowledge a commit a crash loses (see WithRelaxedDurability).
	ErrDurability = errors.New("mysql: the server does not flush commits to disk")
	// ErrCorrupt is returned when a stored row does not have the shape
	// this package writes.
	ErrCorrupt = fmt.Errorf("mysql: unexpected data in the tables: %w", revoke.ErrCorrupt)

	errZeroStore        = errors.New("mysql: the zero Store is not usable; create it with Open or New")
	errStatementTimeout = errors.New("statement timeout")
)

// unavailable are the server's error numbers that mean it cannot serve
// now: too many connections, shutting down, lock wait timeout, deadlock,
// read-only server (3), query interrupted or killed (3), gone away, lost
// connection, max_execution_time, disconnected for inactivity.
var unavailable = map[uint16]bool{1040: true, 1053: true, 1205: true, 1213: true, 1290: true, 1792: true, 1836: true,
	1317: true, 1927: true, 1969: true, 2006: true, 2013: true, 3024: true, 4031: true}

// wrapf returns the error "mysql: <what>: <err>", also wrapping
// revoke.ErrUnavailable when err says the server cannot serve now.
func wrapf(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if isUnavailable(err) {
		return fmt.Errorf("mysql: %s: %w (%w)", what, err, revoke.ErrUnavailable)
	}
	return fmt.Errorf("mysql: %s: %w", what, err)
}

// isUnavailable reports whether a driver error means the server cannot
// serve now: unreachable, connection lost, a timeout, a deadlock, a
// read-only server. The caller's context ending is not one.
func isUnavailable(err error) bool {
	var me *mysql.MySQLError
	var ne net.Error
	switch {
	case errors.Is(err, errStatementTimeout):
		return true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.As(err, &me):
		return unavailable[me.Number]
	}
	return errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}
