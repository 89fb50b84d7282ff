package httpadapter

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// Defaults of the options.
const (
	// DefaultMaxBodyBytes is the largest request body NewHandler reads
	// (64 KiB); a larger one is answered 413.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultMaxTokenLength is the longest token, in bytes, NewHandler
	// accepts; a longer one is a 400 violation of field "token".
	DefaultMaxTokenLength = revoke.MaxTokenLength
	// DefaultMaxClientIDLength is the longest clientId, in bytes,
	// NewHandler accepts; a longer one is a 400 violation of field
	// "clientId".
	DefaultMaxClientIDLength = revoke.MaxClientIDLength
)

// Option configures NewHandler, NewIntrospectionHandler or Middleware.
// Options that do not apply to one of them are ignored by it (Middleware uses
// only WithLogger, WithRetryAfter and RequireIssued), except those that
// NewIntrospectionHandler refuses (see there).
type Option func(*options)

type options struct {
	log         *slog.Logger
	maxBody     int64
	maxToken    int
	maxClientID int
	auth        ClientAuth
	cors        *corsConfig
	retryAfter  []string // the Retry-After header of 503 responses

	requireIssued bool                 // RequireIssued, see middleware.go
	introspect    introspectionOptions // see introspect.go
}

func newOptions(opts []Option) options {
	o := options{
		maxBody:     DefaultMaxBodyBytes,
		maxToken:    DefaultMaxTokenLength,
		maxClientID: DefaultMaxClientIDLength,
		retryAfter:  retryAfterHeader(DefaultRetryAfter),
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	return o
}

// WithLogger sets the logger that receives the details of failures the
// client is not told about (store errors, checker errors). Tokens are never
// logged. A nil logger, like the default, discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// WithMaxBodyBytes sets the largest request body, in bytes, that NewHandler
// reads; a longer body is answered 413 Request Entity Too Large. Values of
// zero or less keep DefaultMaxBodyBytes.
func WithMaxBodyBytes(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.maxBody = n
		}
	}
}

// WithMaxTokenLength sets the longest token, in bytes, that NewHandler
// accepts; a longer token is a 400 violation of field "token". Values of zero
// or less keep DefaultMaxTokenLength.
func WithMaxTokenLength(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxToken = n
		}
	}
}

// WithMaxClientIDLength sets the longest clientId, in bytes, that
// NewHandler accepts; a longer one is a 400 violation of field "clientId".
// Values of zero or less keep DefaultMaxClientIDLength.
func WithMaxClientIDLength(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxClientID = n
		}
	}
}

// WithClientAuthenticator makes NewHandler authenticate the client before
// revoking anything; it predates WithClientAuth, which also lets the
// credentials name the client. After the request has been validated, auth
// is called with the request and the client the body names (JSON clientId,
// form client_id; a form request without client_id is refused with 401
// before auth is called); it should check the client's credentials (HTTP
// Basic, a client assertion, the TLS client certificate, ...) and that they
// are those of that client. Any non-nil error is answered 401 Unauthorized
// with
//
//	WWW-Authenticate: Basic realm="revocation"
//
// and nothing is revoked. The error itself is logged, not sent. auth must not
// read r.Body, which the handler has consumed; it may be called concurrently.
// Without an authenticator the client the body names is taken on trust (see
// the package documentation). A nil auth removes the authenticator.
func WithClientAuthenticator(auth func(r *http.Request, clientID string) error) Option {
	return func(o *options) {
		if auth == nil {
			o.auth = nil
			return
		}
		o.auth = func(r *http.Request, c ClaimedClient) (string, error) {
			if c.ID == "" {
				return "", fmt.Errorf("%w: no client_id", ErrInvalidClient)
			}
			if err := auth(r, c.ID); err != nil {
				return "", fmt.Errorf("%w: %w", ErrInvalidClient, err)
			}
			return c.ID, nil
		}
	}
}

// DefaultRetryAfter is the Retry-After of a 503 unless WithRetryAfter says
// otherwise.
const DefaultRetryAfter = 5 * time.Second

// WithRetryAfter sets the Retry-After header (RFC 9110, section 10.2.3) that
// NewHandler and Middleware send with a 503, rounded up to whole seconds. It
// panics unless d is between 1 second and 1 hour.
func WithRetryAfter(d time.Duration) Option {
	if d < time.Second || d > time.Hour {
		panic("httpadapter: WithRetryAfter: " + d.String() + " is not between 1s and 1h")
	}
	v := retryAfterHeader(d)
	return func(o *options) { o.retryAfter = v }
}

func retryAfterHeader(d time.Duration) []string {
	return []string{strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)}
}
