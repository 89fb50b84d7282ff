package statuslist

import (
	"errors"
	"fmt"

	"github.com/sdkauth/revocation/revoke"
)

// Errors of the package. Compare them with errors.Is; the errors returned
// wrap them with detail.
var (
	// ErrInvalidOption is returned by New for a nil Revoker, a base URL
	// that is not an absolute http or https URL, a key it cannot sign
	// with, a nil Option, or an option outside its bounds. It wraps
	// revoke.ErrInvalidOption.
	ErrInvalidOption = fmt.Errorf("statuslist: invalid option: %w", revoke.ErrInvalidOption)

	// ErrClosed is returned by Allocate once the Issuer is closed.
	ErrClosed = errors.New("statuslist: closed")

	// ErrMalformed is returned by Decode for a list that is not the
	// base64url of a ZLIB stream.
	ErrMalformed = errors.New("statuslist: malformed status list")

	// ErrOutOfRange is returned by Array.Status for an index beyond the
	// list: a relying party must reject the token (the draft's section 8.3).
	ErrOutOfRange = errors.New("statuslist: index out of range")
)
