package statuslist

import (
	"errors"

	"github.com/sdkauth/revocation/revoke"
)

// Errors of the package. Compare them with errors.Is; the errors returned
// wrap them with detail.
var (
	// ErrInvalidOption is returned by New for a nil Revoker, a base URL
	// that is not an absolute http or https URL, a key it cannot sign
	// with, a nil Option, or an option outside its bounds. It wraps
	// revoke.ErrInvalidOption.
	ErrInvalidOption error = &optionError{"statuslist: invalid option", revoke.ErrInvalidOption}

	// ErrClosed is returned by Allocate once the Issuer is closed.
	ErrClosed = errors.New("statuslist: closed")

	// ErrMalformed is returned by Decode for a list that is not the
	// base64url of a ZLIB stream.
	ErrMalformed = errors.New("statuslist: malformed status list")

	// ErrOutOfRange is returned by Array.Status for an index beyond the
	// list: a relying party must reject the token (the draft's section 8.3).
	ErrOutOfRange = errors.New("statuslist: index out of range")
)

// optionError is the type of the package's option errors: its message is
// its own text alone, and errors.Is finds parent (revoke.ErrInvalidOption)
// behind it, so that an error's message does not repeat each package's
// "invalid option".
type optionError struct {
	text   string
	parent error
}

func (e *optionError) Error() string { return e.text }
func (e *optionError) Unwrap() error { return e.parent }
