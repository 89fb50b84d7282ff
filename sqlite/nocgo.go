//go:build !cgo

package sqlite

import sqlite3 "github.com/mattn/go-sqlite3"

// cgoEnabled reports whether SQLite is linked in (see ErrNeedsCgo). Without
// cgo, Open and New fail with ErrNeedsCgo before anything below is reached.
const cgoEnabled = false

func classify(error) error { return nil }

func isSQLError(error) bool { return false }

func tuneConn(*sqlite3.SQLiteConn) error { return ErrNeedsCgo }
