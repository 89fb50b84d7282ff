package httpadapter

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults and bounds of the feed's options.
const (
	// DefaultFeedHeartbeat is how often an idle feed stream confirms to its
	// follower that it is caught up (WithFeedHeartbeat).
	DefaultFeedHeartbeat = time.Second
	// DefaultFeedWriteTimeout is how long one write to a follower may take
	// before the stream is cut off (WithFeedWriteTimeout).
	DefaultFeedWriteTimeout = 10 * time.Second
	// DefaultFeedMaxFollowers is how many streams the feed serves at once
	// (WithFeedMaxFollowers).
	DefaultFeedMaxFollowers = 1024
)

// ErrInvalidFeedOption is wrapped by the error NewFeedHandler returns for a
// nil Revoker, a nil option, an option out of its bounds, or no way to
// authenticate followers. It wraps ErrInvalidOption, and so
// revoke.ErrInvalidOption.
var ErrInvalidFeedOption error = &optionError{"httpadapter: invalid feed option", ErrInvalidOption}

// FeedOption configures NewFeedHandler. Like Option, it is checked when
// the constructor runs: a nil FeedOption, or one given a value out of its
// range, is an error wrapping ErrInvalidFeedOption that names it.
type FeedOption func(*feedOptions) error

type feedOptions struct {
	secrets      [][sha256.Size]byte // SHA-256 of the accepted bearer secrets
	auth         ClientAuth
	clients      map[string]bool // the clients auth may admit
	heartbeat    time.Duration
	writeTimeout time.Duration
	maxFollowers int
	log          *slog.Logger
}

func newFeedOptions(opts []FeedOption) (feedOptions, error) {
	o := feedOptions{
		heartbeat:    DefaultFeedHeartbeat,
		writeTimeout: DefaultFeedWriteTimeout,
		maxFollowers: DefaultFeedMaxFollowers,
		log:          slog.New(slog.DiscardHandler),
	}
	for i, opt := range opts {
		if opt == nil {
			return o, fmt.Errorf("option %d is nil", i)
		}
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	if len(o.secrets) == 0 && o.auth == nil {
		return o, errors.New("no authentication: give WithFeedSecret or WithFeedClientAuth")
	}
	return o, nil
}

// MinFeedSecretLength is the shortest secret WithFeedSecret accepts, in
// bytes.
const MinFeedSecretLength = 16

// WithFeedSecret admits followers that present secret as a bearer token
// (Authorization: Bearer <secret>). Give it more than once to accept
// several secrets, while one replaces another. A secret shorter than
// MinFeedSecretLength bytes, or holding whitespace or control characters,
// is refused.
func WithFeedSecret(secret string) FeedOption {
	return func(o *feedOptions) error {
		if len(secret) < MinFeedSecretLength {
			return fmt.Errorf("feed secret shorter than %d bytes (WithFeedSecret)", MinFeedSecretLength)
		}
		for _, c := range []byte(secret) {
			if c <= ' ' || c == 0x7f {
				return errors.New("feed secret holds whitespace or a control character (WithFeedSecret)")
			}
		}
		o.secrets = append(o.secrets, sha256.Sum256([]byte(secret)))
		return nil
	}
}

// WithFeedClientAuth admits followers that auth authenticates as one of
// clients: the client authenticators of the revocation endpoint (BasicAuth,
// or a ClientAuth of your own) serve the feed too. auth is called with the
// request and an empty ClaimedClient (a feed request has no body); an error
// wrapping ErrInvalidClient, or a client not among clients, is answered 401,
// any other error 503 or 500 (see ErrInvalidClient). A nil auth or an empty
// clients is refused.
func WithFeedClientAuth(auth ClientAuth, clients ...string) FeedOption {
	return func(o *feedOptions) error {
		if auth == nil || len(clients) == 0 {
			return errors.New("nil ClientAuth or no clients (WithFeedClientAuth)")
		}
		o.auth = auth
		o.clients = make(map[string]bool, len(clients))
		for _, c := range clients {
			if c == "" {
				return errors.New("empty client ID (WithFeedClientAuth)")
			}
			o.clients[c] = true
		}
		return nil
	}
}

// WithFeedHeartbeat sets how often a stream with nothing to send confirms
// to its follower that it is caught up (DefaultFeedHeartbeat). The follower
// measures its lag from these confirmations, so a follower's maximum lag
// must be above it. It must be between 10 milliseconds and 1 minute.
func WithFeedHeartbeat(d time.Duration) FeedOption {
	return func(o *feedOptions) error {
		if d < 10*time.Millisecond || d > time.Minute {
			return fmt.Errorf("feed heartbeat %v is outside [10ms, 1m] (WithFeedHeartbeat)", d)
		}
		o.heartbeat = d
		return nil
	}
}

// WithFeedWriteTimeout sets how long one write to a follower may take
// (DefaultFeedWriteTimeout): a follower that stops reading is cut off when
// it expires, and resumes or reloads when it reconnects, so that it holds
// neither a goroutine nor memory of the server's for longer. It must be
// between 100 milliseconds and 10 minutes.
func WithFeedWriteTimeout(d time.Duration) FeedOption {
	return func(o *feedOptions) error {
		if d < 100*time.Millisecond || d > 10*time.Minute {
			return fmt.Errorf("feed write timeout %v is outside [100ms, 10m] (WithFeedWriteTimeout)", d)
		}
		o.writeTimeout = d
		return nil
	}
}

// WithFeedMaxFollowers sets how many streams the feed serves at once
// (DefaultFeedMaxFollowers); a request beyond them is answered 503 with
// Retry-After. It must be between 1 and 1,000,000.
func WithFeedMaxFollowers(n int) FeedOption {
	return func(o *feedOptions) error {
		if n < 1 || n > 1_000_000 {
			return fmt.Errorf("feed max followers %d is outside [1, 1000000] (WithFeedMaxFollowers)", n)
		}
		o.maxFollowers = n
		return nil
	}
}

// WithFeedLogger sets the logger that receives why streams end and why
// requests were refused. Secrets and tokens are never logged. It must not be
// nil; by default nothing is logged.
func WithFeedLogger(l *slog.Logger) FeedOption {
	return func(o *feedOptions) error {
		if l == nil {
			return errors.New("nil logger (WithFeedLogger)")
		}
		o.log = l
		return nil
	}
}
