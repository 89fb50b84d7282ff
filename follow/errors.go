package follow

import (
	"errors"

	"github.com/sdkauth/revocation/revoke"
)

// Errors of the follower. Compare them with errors.Is; the errors returned
// wrap them with detail.
var (
	// ErrInvalidOption is wrapped by the error New returns for a bad URL,
	// a nil option, or an option out of its bounds.
	ErrInvalidOption error = &optionError{"follow: invalid option", revoke.ErrInvalidOption}

	// ErrUnauthorized is wrapped by the error of a stream the server
	// refused with 401 or 403: the credentials (WithBearer,
	// WithRequestEditor) are missing or wrong.
	ErrUnauthorized = errors.New("follow: the feed refused the follower's credentials")

	// ErrFormat is wrapped by the error of a stream in a format or version
	// this follower does not read: the server answered 406 or 415, with
	// another media type than FeedContentType, or a hello of another
	// version. The follower is older (or newer) than the server.
	ErrFormat = errors.New("follow: the server does not serve this follower's feed format")

	// ErrProtocol is wrapped by the error of a stream that broke the
	// format: a truncated or corrupt frame, a frame out of place, a gap in
	// the positions. The follower drops the stream, keeps its index as it
	// was before the broken frame, and reconnects.
	ErrProtocol = errors.New("follow: malformed feed stream")
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
