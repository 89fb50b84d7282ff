package storetest

import (
	"testing"

	"github.com/sdkauth/revocation/internal/harness"
	"github.com/sdkauth/revocation/revoke"
)

// env is one subtest's store, clock and Revoker (see package harness), to
// which this package adds helpers of its own.
type env struct{ *harness.Env }

// grant is a rotated grant (see harness.Grant).
type grant = harness.Grant

// setup opens a fresh store and a Revoker over it with a test clock.
func setup(t *testing.T, open func(t *testing.T) revoke.Store, opts ...revoke.Option) *env {
	t.Helper()
	return &env{harness.Setup(t, open, opts...)}
}
