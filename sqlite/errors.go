package sqlite

import (
	"errors"
	"fmt"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// Errors returned by this package, besides revoke.ErrClosed and the
// context's errors. Compare them with errors.Is; the errors returned wrap
// them with detail, and wrap the driver's error where there is one.
var (
	// ErrVersion is returned by Open and New when the database holds this
	// Store's tables at a schema version newer than this package knows: a
	// newer release of the library has migrated them. Nothing is changed.
	ErrVersion = errors.New("sqlite: schema version is newer than this package supports")

	// ErrNotDatabase is returned by Open and New when the file is not a
	// SQLite database (or is encrypted).
	ErrNotDatabase = errors.New("sqlite: file is not a SQLite database")

	// ErrCorrupt is returned when SQLite reports the database malformed, or
	// a stored row does not have the shape this package writes.
	ErrCorrupt = errors.New("sqlite: database is corrupt")

	// ErrReadOnly is returned when the database cannot be written: the file
	// or its directory is read-only, or the database was opened read-only.
	// Open reports it for a file it cannot write, New when it needs to
	// create or migrate the tables, and Update otherwise.
	ErrReadOnly = errors.New("sqlite: database is read-only")

	// ErrOption is returned by Open and New for an invalid Option or path.
	ErrOption = errors.New("sqlite: invalid option")
)

// wrapf returns the error "sqlite: <what>: <err>" wrapping err, and also
// wrapping the sentinel that matches the driver's error code, if any.
func wrapf(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if kind := classify(err); kind != nil {
		return fmt.Errorf("%w: %s: %w", kind, what, err)
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}

// classify maps the driver's error codes to this package's sentinels.
func classify(err error) error {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return nil
	}
	switch se.Code {
	case sqlite3.ErrNotADB:
		return ErrNotDatabase
	case sqlite3.ErrCorrupt:
		return ErrCorrupt
	case sqlite3.ErrReadonly:
		return ErrReadOnly
	case sqlite3.ErrBusy, sqlite3.ErrLocked:
		return errBusy
	}
	return nil
}
