package bolt_test

import (
	"errors"
	"testing"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/revoke"
)

// TestErrorsWrapRevokes checks that bolt's sentinels wrap revoke's, so that
// one errors.Is asks "is the store damaged?" whatever the backend.
func TestErrorsWrapRevokes(t *testing.T) {
	for name, c := range map[string][2]error{
		"ErrCorrupt":  {bolt.ErrCorrupt, revoke.ErrCorrupt},
		"ErrVersion":  {bolt.ErrVersion, revoke.ErrVersion},
		"ErrReadOnly": {bolt.ErrReadOnly, revoke.ErrReadOnly},
	} {
		if !errors.Is(c[0], c[1]) {
			t.Errorf("bolt.%s does not wrap %v", name, c[1])
		}
	}
}
