package httpadapter_test

import (
	"errors"
	"testing"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/revoke"
)

// TestOptionErrorsWrapRevokes checks that httpadapter's option errors wrap
// revoke.ErrInvalidOption, the one "misconfigured" every package shares.
func TestOptionErrorsWrapRevokes(t *testing.T) {
	for name, err := range map[string]error{
		"ErrInvalidOption":     httpadapter.ErrInvalidOption,
		"ErrInvalidFeedOption": httpadapter.ErrInvalidFeedOption,
	} {
		if !errors.Is(err, revoke.ErrInvalidOption) {
			t.Errorf("httpadapter.%s does not wrap revoke.ErrInvalidOption", name)
		}
	}
	if !errors.Is(httpadapter.ErrInvalidFeedOption, httpadapter.ErrInvalidOption) {
		t.Error("ErrInvalidFeedOption does not wrap ErrInvalidOption: one test does not catch every constructor's refusal")
	}
	// Each reads as its own text: a refusal's message names "invalid
	// option" once, not once per package behind it.
	for err, want := range map[error]string{
		httpadapter.ErrInvalidOption:     "httpadapter: invalid option",
		httpadapter.ErrInvalidFeedOption: "httpadapter: invalid feed option",
	} {
		if err.Error() != want {
			t.Errorf("message %q, want %q", err, want)
		}
	}
}
