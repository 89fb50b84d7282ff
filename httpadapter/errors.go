package httpadapter

import (
	"fmt"

	"github.com/sdkauth/revocation/revoke"
)

// ErrInvalidOption is wrapped by the error of every constructor of the
// package for a configuration it cannot serve as asked: NewHandler,
// Middleware and NewIntrospectionHandler (a nil Revoker or Checker, a nil
// Option, an option out of its range or of another constructor,
// introspection without client authentication, RequireIssued over a Checker
// that cannot look tokens up; see Option), NewGlobalRevocationHandler and,
// through ErrInvalidFeedOption, NewFeedHandler. It wraps
// revoke.ErrInvalidOption.
var ErrInvalidOption = fmt.Errorf("httpadapter: invalid option: %w", revoke.ErrInvalidOption)
