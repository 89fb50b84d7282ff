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
	// It reads as its own text: a refusal's message names "invalid
	// option" once, not once per package behind it.
	if got, want := follow.ErrInvalidOption.Error(), "follow: invalid option"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}
