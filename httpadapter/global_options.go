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

// GlobalOption configures NewGlobalRevocationHandler. Like Option, it is
// checked when the constructor runs: a nil GlobalOption, or one given a
// value it does not take, is an error wrapping ErrInvalidOption that names
// it. When an option is given more than once, the last one counts.
type GlobalOption func(*globalOptions) error

type globalOptions struct {
	auth       GlobalAuth
	resolve    SubjectResolver
	issuer     string
	log        *slog.Logger
	retryAfter []string
}

// WithGlobalAuth sets the function that authenticates and authorizes
// callers. Required; auth must not be nil.
func WithGlobalAuth(auth GlobalAuth) GlobalOption {
	return func(o *globalOptions) error {
		if auth == nil {
			return errors.New("WithGlobalAuth: nil GlobalAuth")
		}
		o.auth = auth
		return nil
	}
}

// WithSubjectResolver sets the function that maps subject identifiers of
// the formats "email", "opaque" and "iss_sub" (but those that
// WithGlobalIssuer names directly) to subjects, and says which users do
// not exist. resolve must not be nil.
func WithSubjectResolver(resolve SubjectResolver) GlobalOption {
	return func(o *globalOptions) error {
		if resolve == nil {
			return errors.New("WithSubjectResolver: nil SubjectResolver")
		}
		o.resolve = resolve
		return nil
	}
}

// WithGlobalIssuer sets the issuer whose "iss_sub" identifiers name the
// subject of the server's tokens directly: {"format": "iss_sub", "iss":
// iss, "sub": s} revokes the grants of subject s, without the resolver
// (and with 204 whether or not s has tokens, since the server cannot tell
// whether s exists). iss must not be empty.
func WithGlobalIssuer(iss string) GlobalOption {
	return func(o *globalOptions) error {
		if iss == "" {
			return errors.New("WithGlobalIssuer: empty issuer")
		}
		o.issuer = iss
		return nil
	}
}

// WithGlobalLogger sets the logger of the failures the caller is not told
// about. The default discards them; l must not be nil.
func WithGlobalLogger(l *slog.Logger) GlobalOption {
	return func(o *globalOptions) error {
		if l == nil {
			return errors.New("WithGlobalLogger: nil logger")
		}
		o.log = l
		return nil
	}
}

// newGlobalOptions returns the configuration opts give, or why it cannot
// serve.
func newGlobalOptions(opts []GlobalOption) (globalOptions, error) {
	o := globalOptions{
		log:        slog.New(slog.DiscardHandler),
		retryAfter: retryAfterHeader(DefaultRetryAfter),
	}
	for i, opt := range opts {
		if opt == nil {
			return o, fmt.Errorf("option %d is nil", i)
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	switch {
	case o.auth == nil:
		return o, errors.New("the endpoint needs a caller check (WithGlobalAuth)")
	case o.resolve == nil && o.issuer == "":
		return o, errors.New("no subject identifier can be resolved: give WithSubjectResolver or WithGlobalIssuer")
	}
	return o, nil
}
