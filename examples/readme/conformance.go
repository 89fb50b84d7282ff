package readme

import (
	"sync"
	"testing"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/store/storetest"
)

// mystore stands in for the package of the reader's own backend in the
// README's fragment of a backend's tests.
var mystore myStoreBackend

// myStoreBackend is the type of mystore.
type myStoreBackend struct{}

// Open opens the Store keeping its data at path: here a memory Store, which
// keeps none (the fragment is compiled, never run).
func (myStoreBackend) Open(path string) (revoke.Store, error) { return memory.New(), nil }

// TestConformance, TestCrash and TestAtRest hold the README's fragment of a
// backend's tests. They are not tests of this package (they are in no
// _test.go file): they are here to be compiled.
//
// README: backend tests
func TestConformance(t *testing.T) {
	var dirs sync.Map // each Store the suite opened -> the directory of its data
	storetest.Run(t, func(t *testing.T) revoke.Store {
		dir := t.TempDir()
		s, err := mystore.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		dirs.Store(s, dir)
		return s
	}, storetest.WithReopen(func(t *testing.T, s revoke.Store) (revoke.Store, error) {
		dir, _ := dirs.Load(s)
		return mystore.Open(dir.(string)) // a second Store over the same data, as another process opens it
	}))
}

func TestCrash(t *testing.T) { storetest.RunCrash(t, mystore.Open, 20) }

func TestAtRest(t *testing.T) { storetest.RunAtRest(t, mystore.Open) }

// README end: backend tests
