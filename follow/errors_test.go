package follow_test

import (
	"errors"
	"testing"

	"github.com/sdkauth/revocation/follow"
	"github.com/sdkauth/revocation/revoke"
)

// TestOptionErrorWrapsRevokes checks that follow's option error wraps
// revoke.ErrInvalidOption, the one "misconfigured" every package shares.
func TestOptionErrorWrapsRevokes(t *testing.T) {
	if !errors.Is(follow.ErrInvalidOption, revoke.ErrInvalidOption) {
		t.Error("follow.ErrInvalidOption does not wrap revoke.ErrInvalidOption")
	}
}
