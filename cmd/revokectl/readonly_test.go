package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/sqlite"
)

// TestOlderTablesNotMigrated: tables of a schema version older than the
// first release are refused by every command, left as they are, with exit
// code 7 and a message naming the version.
func TestOlderTablesNotMigrated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rev.sqlite")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db := sqlx.MustOpen("sqlite3", path)
	defer db.Close()
	older := sqlite.SchemaVersion() - 1
	db.MustExec(`UPDATE revoke_meta SET value = ? WHERE name = 'schema_version'`, older)
	version := func() int {
		var v int
		if err := db.Get(&v, `SELECT value FROM revoke_meta WHERE name = 'schema_version'`); err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, args := range [][]string{{"stats"}, {"purge"}, {"revoke-client", "app"}, {"import"}} {
		code, _, errOut := runCLI(t, "", append([]string{"--store", "sqlite:" + path}, args...)...)
		if code != exitFailure || !strings.Contains(errOut, "predates the first release") {
			t.Errorf("%s over tables of an older version: exit %d, %q; want 7", args[0], code, errOut)
		}
		if v := version(); v != older {
			t.Fatalf("%s migrated the tables from version %d to %d", args[0], older, v)
		}
	}
}
