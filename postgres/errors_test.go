package postgres_test

import (
	"errors"
	"testing"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// TestErrorsWrapRevokes checks that postgres's sentinels wrap revoke's, so that
// one errors.Is asks "is the store damaged?" whatever the backend.
func TestErrorsWrapRevokes(t *testing.T) {
	for name, c := range map[string][2]error{
		"ErrCorrupt":  {postgres.ErrCorrupt, revoke.ErrCorrupt},
		"ErrVersion":  {postgres.ErrVersion, revoke.ErrVersion},
		"ErrReadOnly": {postgres.ErrReadOnly, revoke.ErrReadOnly},
		"ErrOption":   {postgres.ErrOption, revoke.ErrInvalidOption},
	} {
		if !errors.Is(c[0], c[1]) {
			t.Errorf("postgres.%s does not wrap %v", name, c[1])
		}
	}
}
