package sqlite

import (
	"errors"
	"fmt"

	"github.com/sdkauth/revocation/revoke"
)

// Errors of this package. Its other errors wrap those of package revoke
// (ErrClosed, ErrUnavailable, ErrCorrupt, ErrVersion, ErrReadOnly,
// ErrInvalidOption) or the context's; all wrap the driver's error where
// there is one.
var (
	// ErrNotDatabase is returned by Open and New when the file is not a
	// SQLite database (or is encrypted). It wraps revoke.ErrCorrupt.
	ErrNotDatabase = fmt.Errorf("sqlite: file is not a SQLite database: %w", revoke.ErrCorrupt)

	// ErrNotMigrated is returned by Open and New WithReadOnly when the
	// prefix's tables do not exist: a read-only Store creates none (a
	// mistyped WithTablePrefix is the usual cause). It wraps
	// revoke.ErrReadOnly.
	ErrNotMigrated = fmt.Errorf("sqlite: the tables are missing: %w", revoke.ErrReadOnly)

	// ErrNeedsCgo is returned by Open and New in a program built without
	// cgo: SQLite is C code, linked in through cgo (see the package
	// documentation).
	ErrNeedsCgo = errors.New("sqlite: this program was built without cgo; the sqlite backend needs cgo and a C compiler (CGO_ENABLED=1, gcc)")
)

// The sentinels classify gives the driver's error codes, and the errors
// that are no driver's.
var (
	errVersion  = fmt.Errorf("sqlite: unsupported schema version: %w", revoke.ErrVersion)
	errCorrupt  = fmt.Errorf("sqlite: database is corrupt: %w", revoke.ErrCorrupt)
	errReadOnly = fmt.Errorf("sqlite: database is read-only: %w", revoke.ErrReadOnly)
	errOption   = fmt.Errorf("sqlite: invalid option: %w", revoke.ErrInvalidOption)
	// errBusy: the lock was held past the busy timeout; nothing was written.
	errBusy      = fmt.Errorf("sqlite: database is locked past the busy timeout: %w", revoke.ErrUnavailable)
	errZeroStore = errors.New("sqlite: the zero Store is not usable; create it with Open or New")
)

// wrapf returns the error "sqlite: <what>: <err>" wrapping err, and also
// wrapping the sentinel that matches the driver's error code, if any; nil
// for a nil err.
func wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, args...)
	if kind := classify(err); kind != nil {
		return fmt.Errorf("%w: %s: %w", kind, what, err)
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}
