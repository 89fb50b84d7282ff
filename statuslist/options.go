package statuslist

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults of the options.
const (
	// DefaultListSize is how many entries a list holds unless WithListSize
	// says otherwise: 2^20, as in the draft's test vectors (128 KiB
	// uncompressed, about 14 KB compressed with 1% of it revoked).
	DefaultListSize = 1 << 20
	// DefaultTTL is the ttl claim of the Status List Tokens: how long a
	// relying party may cache one before fetching it again.
	DefaultTTL = 5 * time.Minute
	// DefaultLifetime is how long after its iat a Status List Token
	// expires (its exp claim).
	DefaultLifetime = 24 * time.Hour
	// DefaultReloadInterval is how often the Issuer rebuilds its lists
	// from the store, which drops the entries of purged records.
	DefaultReloadInterval = time.Hour
)

// Bounds of the options; New refuses values outside them with an error
// wrapping ErrInvalidOption.
const (
	// MinListSize is the smallest list (WithListSize).
	MinListSize = 8
	// MaxListSize is the largest list (WithListSize): 2^30 entries,
	// 128 MiB uncompressed.
	MaxListSize = 1 << 30
	// MinTTL is the shortest ttl (WithTTL).
	MinTTL = time.Second
	// MinReloadInterval is the shortest reload interval
	// (WithReloadInterval).
	MinReloadInterval = time.Second
)

// Option configures an Issuer.
type Option func(*options)

type options struct {
	size     int
	random   bool
	ttl      time.Duration
	lifetime time.Duration
	reload   time.Duration
	maxLag   time.Duration
	log      *slog.Logger
	now      func() time.Time
}

func defaultOptions() options {
	return options{
		size:     DefaultListSize,
		ttl:      DefaultTTL,
		lifetime: DefaultLifetime,
		reload:   DefaultReloadInterval,
		log:      slog.New(slog.DiscardHandler),
		now:      time.Now,
	}
}

// WithListSize sets how many entries each list holds: a multiple of 8
// between MinListSize and MaxListSize. Every replica, and every restart,
// must use the same size while the tokens of its lists live: a list is
// served at this size by whichever replica is asked.
func WithListSize(n int) Option {
	return func(o *options) { o.size = n }
}

// WithRandomIndices hands out the indices of each list in a random order
// (a keyed permutation of the list, drawn per list), as the draft's
// privacy considerations recommend, rather than 0, 1, 2 and so on. Each
// index is still handed out once, and a list is full after as many
// allocations as it has entries.
func WithRandomIndices() Option {
	return func(o *options) { o.random = true }
}

// WithTTL sets the ttl claim of the Status List Tokens, at least MinTTL and
// shorter than the lifetime (WithLifetime): how long relying parties cache
// a list, so how long after a revocation they may still see the token
// valid. The Cache-Control max-age of the responses is the same, and a
// served token is signed again once it is older than the ttl.
func WithTTL(d time.Duration) Option {
	return func(o *options) { o.ttl = d }
}

// WithLifetime sets how long after its iat a Status List Token expires
// (its exp claim): how long a relying party that cannot reach the server
// may rely on the last list it fetched. It must be longer than the ttl.
func WithLifetime(d time.Duration) Option {
	return func(o *options) { o.lifetime = d }
}

// WithReloadInterval sets how often the Issuer rebuilds its lists from
// the store (Revoker.Statuses), at least MinReloadInterval: the entries of
// records purged since (expired tokens) return to 0, and lists left without
// revocations free their memory.
func WithReloadInterval(d time.Duration) Option {
	return func(o *options) { o.reload = d }
}

// WithMaxLag makes ServeHTTP answer 503, with Retry-After, while the
// Revoker's index has not caught up with its store for longer than d
// (revoke.Revoker.Lag): a replica cut off from a store that other replicas
// write stops signing lists that miss their revocations, as a Revoker does
// with revoke.FollowPolicy.MaxLag. Pick d above the Revoker's sync
// interval, which is its lag while healthy. Zero, the default, sets no
// bound; a negative d is an error. A Revoker over a store no other process
// writes never lags.
func WithMaxLag(d time.Duration) Option {
	return func(o *options) { o.maxLag = d }
}

// WithLogger sets the logger of failures no caller is told about: a
// reload that failed, an entry beyond the list size. A nil logger is an
// error; the default discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.log = l }
}

// WithClock sets the clock of the iat and exp claims (time.Now by default).
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now = now }
}

// validate checks every option against its bounds.
func (o *options) validate() error {
	switch {
	case o.size < MinListSize || o.size > MaxListSize || o.size%8 != 0:
		return fmt.Errorf("list size %d is not a multiple of 8 in [%d, %d] (WithListSize)", o.size, MinListSize, MaxListSize)
	case o.ttl < MinTTL:
		return fmt.Errorf("ttl %v is under %v (WithTTL)", o.ttl, MinTTL)
	case o.lifetime <= o.ttl:
		return fmt.Errorf("lifetime %v is not longer than the ttl %v (WithLifetime)", o.lifetime, o.ttl)
	case o.reload < MinReloadInterval:
		return fmt.Errorf("reload interval %v is under %v (WithReloadInterval)", o.reload, MinReloadInterval)
	case o.maxLag < 0:
		return fmt.Errorf("negative max lag %v (WithMaxLag)", o.maxLag)
	case o.log == nil:
		return errors.New("nil logger (WithLogger)")
	case o.now == nil:
		return errors.New("nil clock (WithClock)")
	}
	return nil
}
