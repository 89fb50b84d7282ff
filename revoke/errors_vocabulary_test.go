package revoke_test

import (
	"errors"
	"testing"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/follow"
	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// TestOneErrorVocabulary checks that the sentinels of the backends and the
// other packages wrap revoke's, so that a caller asks "is the store
// damaged?" (or newer, read-only, misconfigured) with one errors.Is. The
// sqlite backend's are checked in its own tests, which build with cgo.
func TestOneErrorVocabulary(t *testing.T) {
	for _, c := range []struct {
		name      string
		err, want error
	}{
		{"bolt.ErrCorrupt", bolt.ErrCorrupt, revoke.ErrCorrupt},
		{"bolt.ErrVersion", bolt.ErrVersion, revoke.ErrVersion},
		{"bolt.ErrReadOnly", bolt.ErrReadOnly, revoke.ErrReadOnly},
		{"postgres.ErrCorrupt", postgres.ErrCorrupt, revoke.ErrCorrupt},
		{"postgres.ErrVersion", postgres.ErrVersion, revoke.ErrVersion},
		{"postgres.ErrReadOnly", postgres.ErrReadOnly, revoke.ErrReadOnly},
		{"postgres.ErrOption", postgres.ErrOption, revoke.ErrInvalidOption},
		{"httpadapter.ErrInvalidOption", httpadapter.ErrInvalidOption, revoke.ErrInvalidOption},
		{"httpadapter.ErrInvalidFeedOption", httpadapter.ErrInvalidFeedOption, revoke.ErrInvalidOption},
		{"follow.ErrInvalidOption", follow.ErrInvalidOption, revoke.ErrInvalidOption},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s does not wrap %v", c.name, c.want)
		}
	}
}
