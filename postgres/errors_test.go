package postgres_test

import (
	"errors"
	"testing"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// TestErrNotMigratedIsReadOnly: the sentinel a read-only Open without
// tables returns wraps revoke's, so that one errors.Is asks "is the store
// read-only?" whatever the backend.
func TestErrNotMigratedIsReadOnly(t *testing.T) {
	if !errors.Is(postgres.ErrNotMigrated, revoke.ErrReadOnly) {
		t.Errorf("postgres.ErrNotMigrated does not wrap %v", revoke.ErrReadOnly)
	}
}
