package httpadapter

import (
	"log/slog"
	"net/http"

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

// Option configures NewHandler or Middleware. Options that do not apply to
// one of them are ignored by it: Middleware uses only WithLogger.
type Option func(*options)

type options struct {
	log         *slog.Logger
	maxBody     int64
	maxToken    int
	maxClientID int
	auth        func(*http.Request, string) error
}

func newOptions(opts []Option) options {
	o := options{
		maxBody:     DefaultMaxBodyBytes,
		maxToken:    DefaultMaxTokenLength,
		maxClientID: DefaultMaxClientIDLength,
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
// revoking anything. After the request body has been validated, auth is
// called with the request and the body's clientId; it should check the
// client's credentials (HTTP Basic, a client assertion, the TLS client
// certificate, ...) and that they are those of that clientId. A non-nil
// error is answered 401 Unauthorized with
//
//	WWW-Authenticate: Basic realm="revocation"
//
// and nothing is revoked. The error itself is logged, not sent. auth must not
// read r.Body, which the handler has consumed; it may be called concurrently.
// Without an authenticator the clientId of the body is taken on trust (see
// the package documentation).
func WithClientAuthenticator(auth func(r *http.Request, clientID string) error) Option {
	return func(o *options) { o.auth = auth }
}
