package bolt_test

import (
	"errors"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/revoke"
	bbolt "go.etcd.io/bbolt"
)

// TestInvalidOptions: Open and New refuse a bad option, or a nil database,
// with an error wrapping revoke.ErrInvalidOption, and create nothing.
func TestInvalidOptions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "revocation.db")
	for name, opts := range map[string][]bolt.Option{
		"NilOption":   {nil},
		"EmptyBucket": {bolt.WithBucket("")},
		"FileMode":    {bolt.WithFileMode(fs.ModeDir | 0o600)},
	} {
		t.Run("Open/"+name, func(t *testing.T) {
			if _, err := bolt.Open(path, opts...); !errors.Is(err, revoke.ErrInvalidOption) {
				t.Errorf("Open: %v, want an error wrapping revoke.ErrInvalidOption", err)
			}
			if ms, _ := filepath.Glob(filepath.Join(dir, "*")); len(ms) != 0 {
				t.Errorf("Open with a bad option left %v", ms)
			}
		})
	}
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "app.db"), 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, opts := range map[string][]bolt.Option{
		"NilOption":   {nil},
		"EmptyBucket": {bolt.WithBucket("")},
		"OpenOnly":    {bolt.WithTimeout(time.Second)},
	} {
		t.Run("New/"+name, func(t *testing.T) {
			if _, err := bolt.New(db, opts...); !errors.Is(err, revoke.ErrInvalidOption) {
				t.Errorf("New: %v, want an error wrapping revoke.ErrInvalidOption", err)
			}
		})
	}
	if _, err := bolt.New(nil); !errors.Is(err, revoke.ErrInvalidOption) {
		t.Errorf("New(nil): %v, want an error wrapping revoke.ErrInvalidOption", err)
	}
}
