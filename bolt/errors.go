package bolt

import (
	"errors"
	"fmt"

	"github.com/sdkauth/revocation/revoke"
)

// Errors returned by this package. Compare them with errors.Is; the errors
// returned wrap them with detail (and, where there is one, the underlying
// bbolt or operating-system error, which errors.Is finds too).
var (
	// errVersion is returned by Open and New for a store whose format
	// version this package does not know: written by a newer version of
	// this package, or damaged. The file is left as it is. Open also
	// returns it for a bbolt file of another bbolt file-format version, and
	// for a journal segment of another journal version.
	errVersion = fmt.Errorf("bolt: unsupported store format version: %w", revoke.ErrVersion)

	// errCorrupt is returned for a file that is not a bbolt database (random
	// bytes, a truncated file), for a database whose revocation bucket is
	// damaged, for a stored record that does not decode, and by Open for a
	// damaged journal, whose acknowledged commits may be lost (its message
	// names the segment file and the offset; see the package
	// documentation, Damage). A torn tail, the commit being written when
	// the process stopped, is not damage: it was never acknowledged.
	errCorrupt = fmt.Errorf("bolt: corrupt or foreign data: %w", revoke.ErrCorrupt)

	// ErrLocked is returned by Open when another handle (this process or
	// another) holds the file's lock for longer than the lock timeout (see
	// WithTimeout). The error returned wraps go.etcd.io/bbolt/errors.ErrTimeout
	// and revoke.ErrUnavailable too: the lock may be free later.
	ErrLocked = errors.New("bolt: database file is locked by another handle")

	// errReadOnly is returned by Open for a file, or the directory of a file
	// to be created, that is not writable; by Open WithReadOnly, and New
	// over a read-only *bbolt.DB, when there is no store to read; and by
	// Update on a read-only store.
	errReadOnly = fmt.Errorf("bolt: read-only: %w", revoke.ErrReadOnly)

	// errOption is returned by Open and New for a nil or invalid Option,
	// an option New does not take, and by New for a nil *bbolt.DB.
	errOption = fmt.Errorf("bolt: invalid option: %w", revoke.ErrInvalidOption)
)

// errZeroStore is returned by every method of a Store that was not made by
// Open or New.
var errZeroStore = errors.New("bolt: the zero Store is not usable; create it with Open or New")
