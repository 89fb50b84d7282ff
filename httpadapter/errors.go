package httpadapter

import (
	"fmt"

	"github.com/sdkauth/revocation/revoke"
)

// ErrInvalidOption is returned, wrapped, by the constructors that return an
// error (NewIntrospectionHandler, NewMiddleware) for a configuration they
// cannot serve safely: a nil Revoker or Checker, introspection without
// client authentication, RequireIssued over a Checker that cannot look
// tokens up, or an option that does not apply to the endpoint.
var ErrInvalidOption = fmt.Errorf("httpadapter: invalid option: %w", revoke.ErrInvalidOption)
