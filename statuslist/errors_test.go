package statuslist_test

import (
	"errors"
	"testing"

	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/statuslist"
)

// TestOptionErrorWrapsRevokes checks that statuslist's option error wraps
// revoke.ErrInvalidOption, the one "misconfigured" every package shares.
func TestOptionErrorWrapsRevokes(t *testing.T) {
	if !errors.Is(statuslist.ErrInvalidOption, revoke.ErrInvalidOption) {
		t.Error("statuslist.ErrInvalidOption does not wrap revoke.ErrInvalidOption")
	}
}
