package httpadapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// Verdicts of a GlobalAuth function on the caller of the Global Token
// Revocation endpoint. Return them, or errors wrapping them; any other
// error is a failure to decide (500, or 503 when Unavailable).
var (
	// ErrCallerUnauthenticated says the bearer token is not valid
	// (unknown, expired, malformed): 401.
	ErrCallerUnauthenticated = errors.New("httpadapter: caller not authenticated")
	// ErrCallerForbidden says the caller is authenticated but may not
	// revoke this subject's tokens (a missing scope, another tenant): 403.
	ErrCallerForbidden = errors.New("httpadapter: caller not allowed")
)

// ErrSubjectNotFound is what a SubjectResolver returns, wrapped or not,
// for an identifier that names no user of the server: 404.
var ErrSubjectNotFound = errors.New("httpadapter: subject not found")

// GlobalAuth authenticates and authorizes the caller of the Global Token
// Revocation endpoint from the bearer token of its request (RFC 6750), for
// the subject identifier of the request: nil to allow the revocation, an
// error wrapping ErrCallerUnauthenticated or ErrCallerForbidden to refuse
// it. The draft asks that the credential be narrowly scoped: a token
// issued for this endpoint alone, per tenant where the server has
// several.
type GlobalAuth func(ctx context.Context, bearer string, id SubjectID) error

// SubjectResolver maps a subject identifier to the subject the server's
// tokens were issued with (revoke.Token.Subject), or returns an error
// wrapping ErrSubjectNotFound.
type SubjectResolver func(ctx context.Context, id SubjectID) (subject string, err error)

// GlobalOption configures NewGlobalRevocationHandler.
type GlobalOption func(*globalOptions)

type globalOptions struct {
	auth       GlobalAuth
	resolve    SubjectResolver
	issuer     string
	log        *slog.Logger
	retryAfter []string
	set        map[string]bool // options given
}

// WithGlobalAuth sets the function that authenticates and authorizes
// callers. Required.
func WithGlobalAuth(auth GlobalAuth) GlobalOption {
	return func(o *globalOptions) { o.auth = auth; o.set["WithGlobalAuth"] = true }
}

// WithSubjectResolver sets the function that maps subject identifiers of
// the formats "email", "opaque" and "iss_sub" (but those that
// WithGlobalIssuer names directly) to subjects, and says which users do
// not exist.
func WithSubjectResolver(resolve SubjectResolver) GlobalOption {
	return func(o *globalOptions) { o.resolve = resolve; o.set["WithSubjectResolver"] = true }
}

// WithGlobalIssuer sets the issuer whose "iss_sub" identifiers name the
// subject of the server's tokens directly: {"format": "iss_sub", "iss":
// iss, "sub": s} revokes the grants of subject s, without the resolver
// (and with 204 whether or not s has tokens, since the server cannot tell
// whether s exists).
func WithGlobalIssuer(iss string) GlobalOption {
	return func(o *globalOptions) { o.issuer = iss; o.set["WithGlobalIssuer"] = true }
}

// WithGlobalLogger sets the logger of the failures the caller is not told
// about. The default discards them.
func WithGlobalLogger(l *slog.Logger) GlobalOption {
	return func(o *globalOptions) { o.log = l; o.set["WithGlobalLogger"] = true }
}

// validate checks the options.
func (o *globalOptions) validate() error {
	switch {
	case o.auth == nil:
		return fmt.Errorf("%w: the endpoint needs a caller check (WithGlobalAuth)", ErrInvalidOption)
	case o.set["WithSubjectResolver"] && o.resolve == nil:
		return fmt.Errorf("%w: nil resolver (WithSubjectResolver)", ErrInvalidOption)
	case o.set["WithGlobalIssuer"] && o.issuer == "":
		return fmt.Errorf("%w: empty issuer (WithGlobalIssuer)", ErrInvalidOption)
	case o.resolve == nil && o.issuer == "":
		return fmt.Errorf("%w: no subject identifier can be resolved: give WithSubjectResolver or WithGlobalIssuer", ErrInvalidOption)
	case o.log == nil:
		return fmt.Errorf("%w: nil logger (WithGlobalLogger)", ErrInvalidOption)
	}
	return nil
}
