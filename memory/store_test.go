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
