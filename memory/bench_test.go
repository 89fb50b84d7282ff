package memory_test

import (
	"testing"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/store/storebench"
)

func BenchmarkStore(b *testing.B) {
	storebench.Run(b, func(*testing.B) revoke.Store { return memory.New() })
}
