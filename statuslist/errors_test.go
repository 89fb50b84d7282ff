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
	// It reads as its own text: a refusal's message names "invalid
	// option" once, not once per package behind it.
	if got, want := statuslist.ErrInvalidOption.Error(), "statuslist: invalid option"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}
