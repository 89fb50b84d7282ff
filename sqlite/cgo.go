//go:build cgo

package sqlite

import (
	"errors"
	"fmt"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// cgoEnabled reports whether SQLite is linked in (see ErrNeedsCgo).
const cgoEnabled = true

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

// tuneConn sets the pragmas the DSN cannot on each connection Open makes.
func tuneConn(c *sqlite3.SQLiteConn) error {
	_, err := c.Exec(fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", walCheckpointPages), nil)
	return err
}
