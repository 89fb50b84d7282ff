//go:build !cgo

package sqlite_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/sdkauth/revocation/sqlite"
)

// TestNeedsCgo checks that a program built without cgo gets a clear error
// from Open and New rather than a build failure or a crash.
func TestNeedsCgo(t *testing.T) {
	if _, err := sqlite.Open(filepath.Join(t.TempDir(), "revoke.db")); !errors.Is(err, sqlite.ErrNeedsCgo) {
		t.Errorf("Open without cgo: err = %v, want ErrNeedsCgo", err)
	}
	if _, err := sqlite.New(nil); !errors.Is(err, sqlite.ErrNeedsCgo) {
		t.Errorf("New without cgo: err = %v, want ErrNeedsCgo", err)
	}
}
