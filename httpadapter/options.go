package httpadapter

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
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

// Option configures NewHandler, Middleware or NewIntrospectionHandler. Each
// option says which of them it applies to and which values it takes; it is
// checked when the constructor runs. The constructor returns an error
// wrapping ErrInvalidOption, naming the option, for a nil Option, an option
// given a value out of its range, and an option that does not apply to it
// (WithCORS given to Middleware, say): an option is never ignored, and a
// bad value never falls back to the default. When an option is given more
// than once, the last one counts.
//
// Which option applies where:
//
//	                         NewHandler  Middleware  NewIntrospectionHandler
//	WithLogger                   x           x                x
//	WithRetryAfter               x           x                x
//	WithMaxBodyBytes             x                            x
//	WithMaxTokenLength           x                            x
//	WithMaxClientIDLength        x                            x
//	WithClientAuth               x                            x (required)
//	WithCORS                     x
//	RequireIssued                            x
//	WithIntrospectionAccess                                   x
type Option func(*options) error

// endpoint names the constructor an Option is given to; as a set of bits,
// the constructors an Option applies to.
type endpoint uint8

const (
	forHandler endpoint = 1 << iota
	forMiddleware
	forIntrospection
)

// String returns the name of the constructor e stands for.
func (e endpoint) String() string {
	switch e {
	case forHandler:
		return "NewHandler"
	case forMiddleware:
		return "Middleware"
	case forIntrospection:
		return "NewIntrospectionHandler"
	}
	return "endpoint(" + strconv.Itoa(int(e)) + ")"
}

type options struct {
	ctor        endpoint // the constructor the options are given to
	log         *slog.Logger
	maxBody     int64
	maxToken    int
	maxClientID int
	auth        ClientAuth
	cors        *corsConfig
	retryAfter  []string // the Retry-After header of 503 responses

	requireIssued bool                                             // RequireIssued, see middleware.go
	allow         func(client string, token revoke.TokenInfo) bool // WithIntrospectionAccess, see introspect.go
}

// option returns the Option called name, which the constructors in scope
// accept, and which configures them with set. set returns why the option's
// value is refused, or nil.
func option(name string, scope endpoint, set func(*options) error) Option {
	return func(o *options) error {
		if o.ctor&scope == 0 {
			return fmt.Errorf("%s does not apply to %s", name, o.ctor)
		}
		if err := set(o); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
}

// invalidOption returns the error of constructor ctor for a configuration it
// refuses for the reason err gives: it wraps err and ErrInvalidOption.
func invalidOption(ctor endpoint, err error) error {
	return fmt.Errorf("httpadapter: %s: %w: %w", ctor, err, ErrInvalidOption)
}

// isNil reports whether v, a Revoker, Checker or SubjectRevoker, is nil,
// including a nil pointer in the interface (a nil *revoke.Revoker), which
// is not == nil but would panic on the first request.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// newOptions returns the configuration opts give constructor ctor, or the
// error (see invalidOption) for the first option it refuses.
func newOptions(ctor endpoint, opts []Option) (options, error) {
	o := options{
		ctor:        ctor,
		log:         slog.New(slog.DiscardHandler),
		maxBody:     DefaultMaxBodyBytes,
		maxToken:    DefaultMaxTokenLength,
		maxClientID: DefaultMaxClientIDLength,
		retryAfter:  retryAfterHeader(DefaultRetryAfter),
	}
	for i, opt := range opts {
		if opt == nil {
			return options{}, invalidOption(ctor, fmt.Errorf("option %d is nil", i))
		}
		if err := opt(&o); err != nil {
			return options{}, invalidOption(ctor, err)
		}
	}
	return o, nil
}

// WithLogger sets the logger that receives the details of failures the
// client is not told about (store errors, checker errors). Tokens are never
// logged. By default nothing is logged; l must not be nil. It applies to
// NewHandler, Middleware and NewIntrospectionHandler.
func WithLogger(l *slog.Logger) Option {
	return option("WithLogger", forHandler|forMiddleware|forIntrospection, func(o *options) error {
		if l == nil {
			return errors.New("nil logger")
		}
		o.log = l
		return nil
	})
}

// WithMaxBodyBytes sets the largest request body, in bytes, that NewHandler
// and NewIntrospectionHandler read (DefaultMaxBodyBytes); a longer body is
// answered 413 Request Entity Too Large. n must be at least 1.
func WithMaxBodyBytes(n int64) Option {
	return option("WithMaxBodyBytes", forHandler|forIntrospection, func(o *options) error {
		if n < 1 {
			return fmt.Errorf("%d bytes is less than 1", n)
		}
		o.maxBody = n
		return nil
	})
}

// WithMaxTokenLength sets the longest token, in bytes, that NewHandler
// accepts (DefaultMaxTokenLength); a longer token is a 400 violation of
// field "token". NewIntrospectionHandler answers a longer token
// {"active":false}. n must be between 1 and revoke.MaxTokenLength, the
// longest token the Revoker takes.
func WithMaxTokenLength(n int) Option {
	return option("WithMaxTokenLength", forHandler|forIntrospection, func(o *options) error {
		if n < 1 || n > revoke.MaxTokenLength {
			return fmt.Errorf("%d bytes is not between 1 and %d (revoke.MaxTokenLength)", n, revoke.MaxTokenLength)
		}
		o.maxToken = n
		return nil
	})
}

// WithMaxClientIDLength sets the longest clientId (client_id), in bytes,
// that NewHandler and NewIntrospectionHandler accept
// (DefaultMaxClientIDLength); a longer one is a 400 violation of field
// "clientId" (invalid_request in the form dialect). n must be between 1
// and revoke.MaxClientIDLength, the longest client ID the Revoker takes.
func WithMaxClientIDLength(n int) Option {
	return option("WithMaxClientIDLength", forHandler|forIntrospection, func(o *options) error {
		if n < 1 || n > revoke.MaxClientIDLength {
			return fmt.Errorf("%d bytes is not between 1 and %d (revoke.MaxClientIDLength)", n, revoke.MaxClientIDLength)
		}
		o.maxClientID = n
		return nil
	})
}

// DefaultRetryAfter is the Retry-After of a 503 unless WithRetryAfter says
// otherwise.
const DefaultRetryAfter = 5 * time.Second

// WithRetryAfter sets the Retry-After header (RFC 9110, section 10.2.3) that
// NewHandler, Middleware and NewIntrospectionHandler send with a 503,
// rounded up to whole seconds (DefaultRetryAfter). d must be between 1
// second and 1 hour.
func WithRetryAfter(d time.Duration) Option {
	return option("WithRetryAfter", forHandler|forMiddleware|forIntrospection, func(o *options) error {
		if d < time.Second || d > time.Hour {
			return fmt.Errorf("%v is not between 1s and 1h", d)
		}
		o.retryAfter = retryAfterHeader(d)
		return nil
	})
}

func retryAfterHeader(d time.Duration) []string {
	return []string{strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)}
}
