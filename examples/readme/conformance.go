package readme

import (
	"testing"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/store/storetest"
)

// mystore stands in for the package of the reader's own backend in the
// README's conformance fragment.
var mystore myStoreBackend

// myStoreBackend is the type of mystore.
type myStoreBackend struct{}

// New returns a fresh Store keeping its files in dir: here a memory Store,
// which keeps none.
func (myStoreBackend) New(dir string) revoke.Store { return memory.New() }

// TestConformance holds the README's fragment that runs the conformance suite
// against one's own backend. It is not a test of this package (it is in no
// _test.go file): it is here to be compiled.
//
// README: conformance
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) revoke.Store { return mystore.New(t.TempDir()) })
}

// README end: conformance
