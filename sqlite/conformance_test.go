//go:build cgo

package sqlite_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/sqlite"
	"github.com/sdkauth/revocation/store/storetest"
)

func opener(path string) (revoke.Store, error) { return sqlite.Open(path) }

func TestConformance(t *testing.T) {
	var paths sync.Map // *sqlite.Store -> its file
	storetest.Run(t, func(t *testing.T) revoke.Store {
		path := filepath.Join(t.TempDir(), "revoke.db")
		s, err := sqlite.Open(path)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		paths.Store(s, path)
		return s
	}, storetest.WithReopen(func(t *testing.T, s revoke.Store) (revoke.Store, error) {
		path, _ := paths.Load(s)
		return sqlite.Open(path.(string))
	}))
}

func TestCrash(t *testing.T) {
	storetest.RunCrash(t, opener, 20)
}

func TestAtRest(t *testing.T) {
	storetest.RunAtRest(t, opener)
}
