package httpadapter

import "github.com/sdkauth/revocation/revoke"

// ErrInvalidOption is wrapped by the error of every constructor of the
// package for a configuration it cannot serve as asked: NewHandler,
// Middleware and NewIntrospectionHandler (a nil Revoker or Checker, a nil
// Option, an option out of its range or of another constructor,
// introspection without client authentication, RequireIssued over a Checker
// that cannot look tokens up; see Option), NewGlobalRevocationHandler and,
// through ErrInvalidFeedOption, NewFeedHandler. It wraps
// revoke.ErrInvalidOption.
var ErrInvalidOption error = &optionError{"httpadapter: invalid option", revoke.ErrInvalidOption}

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
