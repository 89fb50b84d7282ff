package follow

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// Option configures New.
type Option func(*options) error

type options struct {
	urls       []string // more URLs to follow, after the one given to New
	client     *http.Client
	edit       []func(*http.Request) error
	backoffMin time.Duration
	backoffMax time.Duration
	maxLag     time.Duration
	tokenKey   func(string) (string, bool)
	sweepEvery time.Duration
	grace      time.Duration
	idle       time.Duration
	now        func() time.Time
	log        *slog.Logger
}

// Defaults of the options.
const (
	// DefaultBackoffMin and DefaultBackoffMax bound the wait between two
	// attempts to connect (WithBackoff).
	DefaultBackoffMin = 100 * time.Millisecond
	DefaultBackoffMax = 5 * time.Second
	// DefaultSweepInterval is how often the follower sheds expired entries
	// (WithSweep).
	DefaultSweepInterval = time.Minute
	// DefaultConnectTimeout is how long a connection may take to bring the
	// first frame of its stream (WithConnectTimeout).
	DefaultConnectTimeout = 10 * time.Second
)

func defaultOptions() options {
	return options{
		client:     &http.Client{},
		backoffMin: DefaultBackoffMin,
		backoffMax: DefaultBackoffMax,
		sweepEvery: DefaultSweepInterval,
		grace:      revoke.DefaultPurgeGrace,
		idle:       DefaultConnectTimeout,
		now:        time.Now,
		log:        slog.New(slog.DiscardHandler),
	}
}

// WithURLs adds feed URLs to follow besides the one given to New: replicas
// of the authorization server. The follower reads one at a time and moves
// to the next when it fails.
func WithURLs(urls ...string) Option {
	return func(o *options) error {
		o.urls = append(o.urls, urls...)
		return nil
	}
}

// WithHTTPClient sets the client the follower connects with (by default a
// client over http.DefaultTransport): TLS settings, proxies, a transport of
// your own. Its Timeout must be zero, since it would cut every stream; the
// follower watches its streams itself (see WithConnectTimeout).
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) error {
		switch {
		case c == nil:
			return errors.New("nil http.Client (WithHTTPClient)")
		case c.Timeout != 0:
			return fmt.Errorf("http.Client with a Timeout of %v, which would cut every stream (WithHTTPClient)", c.Timeout)
		}
		o.client = c
		return nil
	}
}

// WithBearer authenticates the follower with secret as a bearer token
// (Authorization: Bearer <secret>): the secret of the feed's
// httpadapter.WithFeedSecret. It must not be empty.
func WithBearer(secret string) Option {
	return func(o *options) error {
		if secret == "" {
			return errors.New("empty bearer secret (WithBearer)")
		}
		o.edit = append(o.edit, func(r *http.Request) error {
			r.Header.Set("Authorization", "Bearer "+secret)
			return nil
		})
		return nil
	}
}

// WithRequestEditor makes the follower call edit on every request before
// sending it, to add credentials of another kind (r.SetBasicAuth for a feed
// behind httpadapter.WithFeedClientAuth and BasicAuth, a token fetched
// from elsewhere). An error from edit fails that attempt, which is retried
// like a failed connection.
func WithRequestEditor(edit func(r *http.Request) error) Option {
	return func(o *options) error {
		if edit == nil {
			return errors.New("nil request editor (WithRequestEditor)")
		}
		o.edit = append(o.edit, edit)
		return nil
	}
}

// WithBackoff bounds the wait between two attempts to connect: min after
// the first failure, doubling to max, with jitter; a stream that delivered
// a sync resets it (defaults DefaultBackoffMin and DefaultBackoffMax). It
// needs 1ms <= min <= max <= 10 minutes.
func WithBackoff(min, max time.Duration) Option {
	return func(o *options) error {
		if min < time.Millisecond || max < min || max > 10*time.Minute {
			return fmt.Errorf("backoff [%v, %v] is not within 1ms <= min <= max <= 10m (WithBackoff)", min, max)
		}
		o.backoffMin, o.backoffMax = min, max
		return nil
	}
}

// WithMaxLag makes IsRevoked fail closed: while the follower has not been
// caught up with the feed for longer than d (see Checker.Lag), IsRevoked
// returns an error wrapping revoke.ErrStale for every token its index does
// not hold as revoked, and httpadapter.Middleware answers 503. d must be
// above the feed's heartbeat (httpadapter.WithFeedHeartbeat), or a stream
// fails with a message saying so; zero (the default) turns the check off.
func WithMaxLag(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("negative max lag %v (WithMaxLag)", d)
		}
		o.maxLag = d
		return nil
	}
}

// WithTokenKey sets the function that maps a presented token to the key
// the authorization server's Revoker files it under: the one that server
// gives revoke.WithTokenKey (for JWTs, jwtkey.KeyOrOpaque), so that a JWT
// is checked by issuer and jti exactly as the server checks it. A token it
// refuses is reported revoked, with an error wrapping
// revoke.ErrInvalidToken, as the Revoker does. Without it a token is its
// own key.
func WithTokenKey(key func(token string) (key string, ok bool)) Option {
	return func(o *options) error {
		if key == nil {
			return errors.New("nil token key function (WithTokenKey)")
		}
		o.tokenKey = key
		return nil
	}
}

// WithSweep sets how often the follower sheds the entries that expired
// more than grace ago (DefaultSweepInterval and revoke.DefaultPurgeGrace,
// the grace the server keeps them for). interval must be between 1ms and
// 24 hours, grace between 0 and revoke.MaxPurgeGrace.
func WithSweep(interval, grace time.Duration) Option {
	return func(o *options) error {
		if interval < time.Millisecond || interval > 24*time.Hour || grace < 0 || grace > revoke.MaxPurgeGrace {
			return fmt.Errorf("sweep every %v with grace %v is out of bounds (WithSweep)", interval, grace)
		}
		o.sweepEvery, o.grace = interval, grace
		return nil
	}
}

// WithConnectTimeout sets how long a connection may take to bring the
// first frame of its stream (DefaultConnectTimeout); afterwards the stream
// is dropped when no frame comes for three heartbeats (at least a second).
// It must be between 10ms and 10 minutes.
func WithConnectTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 10*time.Millisecond || d > 10*time.Minute {
			return fmt.Errorf("connect timeout %v is outside [10ms, 10m] (WithConnectTimeout)", d)
		}
		o.idle = d
		return nil
	}
}

// WithClock sets the clock the follower judges expiry by when it sweeps
// (time.Now by default). The lag is measured on the monotonic clock.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return errors.New("nil clock (WithClock)")
		}
		o.now = now
		return nil
	}
}

// WithLogger sets the logger for the follower's connections: each failure
// and reconnection. By default nothing is logged.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("nil logger (WithLogger)")
		}
		o.log = l
		return nil
	}
}
