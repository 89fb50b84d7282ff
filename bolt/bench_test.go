package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/store/storebench"
)

// BenchmarkStore runs the common benchmarks of package storebench.
func BenchmarkStore(b *testing.B) {
	storebench.Run(b, func(b *testing.B) revoke.Store {
		s, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
