package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/sqlite"
	"github.com/sdkauth/revocation/store/storetest"
)

// openFresh opens a Store in a new file of the test's temporary directory.
func openFresh(t *testing.T) revoke.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "revoke.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func opener(path string) (revoke.Store, error) { return sqlite.Open(path) }

func TestConformance(t *testing.T) {
	storetest.Run(t, openFresh)
}

func TestCrash(t *testing.T) {
	storetest.RunCrash(t, opener, 20)
}

func TestAtRest(t *testing.T) {
	storetest.RunAtRest(t, opener)
}
