//go:build cgo

package sqlite

import (
	"database/sql/driver"
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
		return errCorrupt
	case sqlite3.ErrReadonly:
		return errReadOnly
	case sqlite3.ErrBusy, sqlite3.ErrLocked:
		return errBusy
	}
	return nil
}

// isSQLError reports whether err is SQLite's error in a statement (a
// table or column missing, a name taken): over the Store's fixed
// statements, a schema that is not the Store's.
func isSQLError(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrError
}

// tuneConn sets the pragmas the DSN cannot on each connection Open makes:
// the page size of a new database, which only counts before its first
// write (Store.setWAL's switch to WAL mode is one, so it comes after), and
// the WAL's checkpoint threshold in pages of the database's page size.
func tuneConn(c *sqlite3.SQLiteConn) error {
	if _, err := c.Exec(fmt.Sprintf("PRAGMA page_size = %d", pageSize), nil); err != nil {
		return err
	}
	size := int64(pageSize)
	rows, err := c.Query("PRAGMA page_size", nil)
	if err != nil {
		return err
	}
	dest := make([]driver.Value, 1)
	if err := rows.Next(dest); err == nil {
		if n, ok := dest[0].(int64); ok && n > 0 {
			size = n
		}
	}
	if err := rows.Close(); err != nil {
		return err
	}
	_, err = c.Exec(fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", walCheckpointBytes/size), nil)
	return err
}
