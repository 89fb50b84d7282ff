package sqlite

import (
	"errors"
	"fmt"

	"github.com/sdkauth/revocation/revoke"
)

// Errors returned by this package, besides revoke.ErrClosed and the
// context's errors. Compare them with errors.Is; the errors returned wrap
// them with detail, and wrap the driver's error where there is one.
var (
	// errVersion is returned by Open and New when the database holds this
	// Store's tables at a schema version other than SchemaVersion: a newer
	// one, written by a newer release of the library, or one of the
	// versions 1 to 4, which predate the first release and are not
	// migrated. Nothing is changed.
	errVersion = fmt.Errorf("sqlite: unsupported schema version: %w", revoke.ErrVersion)

	// ErrNotDatabase is returned by Open and New when the file is not a
	// SQLite database (or is encrypted).
	ErrNotDatabase = errors.New("sqlite: file is not a SQLite database")

	// errCorrupt is returned when SQLite reports the database malformed, or
	// a stored row does not have the shape this package writes.
	errCorrupt = fmt.Errorf("sqlite: database is corrupt: %w", revoke.ErrCorrupt)

	// errReadOnly is returned when the database cannot be written: the file
	// or its directory is read-only, or the database was opened read-only.
	// Open reports it for a file it cannot write, New when it needs to
	// create the tables, and Update otherwise.
	errReadOnly = fmt.Errorf("sqlite: database is read-only: %w", revoke.ErrReadOnly)

	// ErrNotMigrated is returned by Open and New WithReadOnly when the
	// prefix's tables do not exist: a read-only Store creates nothing. (A
	// mistyped WithTablePrefix is the usual cause.) The error wraps
	// revoke.ErrReadOnly too.
	ErrNotMigrated = errors.New("sqlite: the tables are missing")

	// errOption is returned by Open and New for an invalid Option or path.
	errOption = fmt.Errorf("sqlite: invalid option: %w", revoke.ErrInvalidOption)

	// ErrNeedsCgo is returned by Open and New in a program built without
	// cgo (CGO_ENABLED=0, or no C compiler): SQLite is C code, linked in
	// through cgo. Build with CGO_ENABLED=1 and gcc installed, or use
	// another backend (memory, bolt) that needs no cgo.
	ErrNeedsCgo = errors.New("sqlite: this program was built without cgo; the sqlite backend needs cgo and a C compiler (CGO_ENABLED=1, gcc)")
)

// errBusy classifies SQLITE_BUSY and SQLITE_LOCKED: another connection or
// process held the lock for longer than the busy timeout (WithBusyTimeout).
// It wraps revoke.ErrUnavailable, so that callers (the HTTP handler's 503)
// know a retry may succeed. Nothing was written.
var errBusy = fmt.Errorf("sqlite: database is locked past the busy timeout: %w", revoke.ErrUnavailable)

// errZeroStore is returned by every method of a Store that was not made by
// Open or New.
var errZeroStore = errors.New("sqlite: the zero Store is not usable; create it with Open or New")

// wrapf returns the error "sqlite: <what>: <err>" wrapping err, and also
// wrapping the sentinel that matches the driver's error code, if any.
func wrapf(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if kind := classify(err); kind != nil {
		return fmt.Errorf("%w: %s: %w", kind, what, err)
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}
