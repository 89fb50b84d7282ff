package memory_test

import (
	"testing"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) revoke.Store { return memory.New() })
}

// TestConformanceZeroValue runs the suite over zero-value Stores: the zero
// value is usable, as the documentation promises.
func TestConformanceZeroValue(t *testing.T) {
	storetest.Run(t, func(*testing.T) revoke.Store { return new(memory.Store) })
}
