package follow

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// Checker answers IsRevoked from an in-memory index of the revocations an
// authorization server's feed streams to it. It satisfies
// httpadapter.Checker. It is safe for concurrent use.
type Checker struct {
	opts options
	urls []*url.URL
	key  func(string) (string, bool)

	idx    atomic.Pointer[revoke.Index]
	base   time.Time    // origin of synced, with its monotonic clock
	synced atomic.Int64 // ns since base as of which the index is caught up
	closed atomic.Bool

	// The stream's state: written by the run goroutine only.
	epoch, pos atomic.Uint64
	current    atomic.Int32 // index of the URL being followed
	connected  atomic.Bool
	snapshots  atomic.Uint64
	reconnects atomic.Uint64
	lastErr    atomic.Pointer[error]

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Stats describes a Checker's state.
type Stats struct {
	// Entries is how many revocations the index holds.
	Entries int
	// Epoch and Position are where in the server's change log the index
	// stands; a reconnection resumes from there.
	Epoch, Position uint64
	// Lag is Checker.Lag.
	Lag time.Duration
	// Snapshots counts the snapshots loaded, the first included.
	Snapshots uint64
	// Reconnects counts the streams that failed or ended and were opened
	// again.
	Reconnects uint64
	// URL is the feed URL followed now, or last.
	URL string
	// Connected reports whether a stream is open.
	Connected bool
	// LastError is the error that ended the last stream, or nil.
	LastError error
}

// Errors of IsRevoked, made once so that IsRevoked does not allocate.
var (
	errClosed     = fmt.Errorf("follow: IsRevoked: %w", revoke.ErrClosed)
	errEmptyToken = &revoke.FieldError{Field: "token", Reason: "is empty"}
	errUnkeyed    = &revoke.FieldError{Field: "token", Reason: "is not of a form the token key function accepts"}
	errStale      = fmt.Errorf("follow: IsRevoked: %w (the follower has not caught up with the feed within the bound of WithMaxLag)", revoke.ErrStale)
)

// New follows the revocation feed at feedURL (an authorization server's
// httpadapter.NewFeedHandler, mounted at httpadapter.FeedPath, e.g.
// "https://auth.example/v1/auth/revocations") and returns once it has
// loaded the feed's snapshot, so that its first IsRevoked already knows
// every revocation the server did. A goroutine then applies the revocations
// the server streams as they commit, reconnecting (to the next URL of
// WithURLs, after a backoff) when the stream fails, and sheds expired
// entries; Close stops it.
//
// New returns an error wrapping ErrInvalidOption for a bad URL or option.
// It keeps trying until ctx is done, and then returns ctx's error with the
// last failure's; but when every URL refused the follower for good
// (ErrUnauthorized, ErrFormat) it returns that at once.
func New(ctx context.Context, feedURL string, opts ...Option) (*Checker, error) {
	o := defaultOptions()
	for i, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("follow: New: %w: option %d is nil", ErrInvalidOption, i)
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("follow: New: %w: %w", ErrInvalidOption, err)
		}
	}
	c := &Checker{opts: o, key: o.tokenKey, base: time.Now()}
	for _, s := range append([]string{feedURL}, o.urls...) {
		u, err := parseURL(s)
		if err != nil {
			return nil, fmt.Errorf("follow: New: %w: %w", ErrInvalidOption, err)
		}
		c.urls = append(c.urls, u)
	}
	c.idx.Store(revoke.NewIndex())
	bg, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	ready := make(chan error, 1)
	c.wg.Add(2)
	go c.run(bg, ready)
	go c.sweep(bg)
	select {
	case err := <-ready:
		if err != nil {
			c.stop()
			return nil, fmt.Errorf("follow: New: %w", err)
		}
		return c, nil
	case <-ctx.Done():
		c.stop()
		return nil, fmt.Errorf("follow: New: %w (last failure: %w)", ctx.Err(), c.lastError())
	}
}

func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return nil, err
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("feed URL %q is neither http nor https", s)
	case u.Host == "":
		return nil, fmt.Errorf("feed URL %q has no host", s)
	case u.Fragment != "" || u.User != nil:
		return nil, fmt.Errorf("feed URL %q has a fragment or user information", s)
	}
	return u, nil
}

// IsRevoked reports whether token was revoked by the authorization server,
// from the follower's index: no network, no lock, no allocation (unless
// the key function of WithTokenKey allocates). A token the key function
// refuses is reported revoked, with an error wrapping
// revoke.ErrInvalidToken; an empty token is such an error too. With
// WithMaxLag, a token the index does not hold as revoked gets an error
// wrapping revoke.ErrStale while the follower lags by more than the bound.
// After Close it returns an error wrapping revoke.ErrClosed.
func (c *Checker) IsRevoked(_ context.Context, token string) (bool, error) {
	if c.closed.Load() {
		return false, errClosed
	}
	if token == "" {
		return false, errEmptyToken
	}
	key := token
	if c.key != nil {
		k, ok := c.key(token)
		if !ok || k == "" {
			return true, errUnkeyed
		}
		key = k
	}
	if c.idx.Load().Contains(key) {
		return true, nil
	}
	if c.opts.maxLag > 0 && c.Lag() > c.opts.maxLag {
		return false, errStale
	}
	return false, nil
}

// Lag returns how far behind the authorization server the index may be:
// the time since the follower last received the server's confirmation that
// it had every revocation (a sync frame, sent after each burst of
// revocations and every heartbeat while idle), plus the lag the server
// itself reported then (its own Revoker's, over a shared store). It grows
// while the follower is disconnected. The transit time of the confirmation
// itself is not counted.
func (c *Checker) Lag() time.Duration {
	return time.Since(c.base) - time.Duration(c.synced.Load())
}

// markSynced records that the index is caught up with the server as of
// now, less the server's own lag.
func (c *Checker) markSynced(serverLag time.Duration) {
	c.synced.Store(int64(time.Since(c.base) - serverLag))
}

// Stats returns the follower's state.
func (c *Checker) Stats() Stats {
	return Stats{
		Entries:    c.idx.Load().Len(),
		Epoch:      c.epoch.Load(),
		Position:   c.pos.Load(),
		Lag:        c.Lag(),
		Snapshots:  c.snapshots.Load(),
		Reconnects: c.reconnects.Load(),
		URL:        c.urls[c.current.Load()].String(),
		Connected:  c.connected.Load(),
		LastError:  c.lastError(),
	}
}

func (c *Checker) lastError() error {
	if p := c.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Close stops following and waits for the follower's goroutines. After
// Close, IsRevoked returns an error wrapping revoke.ErrClosed, and so does
// Close.
func (c *Checker) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return fmt.Errorf("follow: Close: %w", revoke.ErrClosed)
	}
	c.stop()
	return nil
}

func (c *Checker) stop() {
	c.cancel()
	c.wg.Wait()
}

// sweep sheds the entries that expired more than the grace ago, every
// sweep interval.
func (c *Checker) sweep(ctx context.Context) {
	defer c.wg.Done()
	t := time.NewTicker(c.opts.sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.idx.Load().Sweep(c.opts.now().Add(-c.opts.grace))
		}
	}
}

// permanent reports whether err is one that retrying the same URL will not
// cure.
func permanent(err error) bool {
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrFormat) || errors.Is(err, errLagBound)
}
