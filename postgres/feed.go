package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sdkauth/revocation/revoke"
)

// feed is the Store's change feed: one connection of its own LISTENs on the
// Store's channel, and every notification is passed on to the subscribers'
// channels. It starts with the first subscriber and reconnects, with
// backoff, until the Store closes.
type feed struct {
	cfg      *pgx.ConnConfig
	channel  string
	min, max time.Duration

	mu      sync.Mutex
	subs    map[chan struct{}]struct{}
	started bool
	ctx     context.Context // cancelled by stop
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newFeed(cfg *pgx.ConnConfig, channel string, min, max time.Duration) *feed {
	ctx, cancel := context.WithCancel(context.Background())
	return &feed{cfg: cfg, channel: channel, min: min, max: max, subs: make(map[chan struct{}]struct{}), ctx: ctx, cancel: cancel}
}

// notify is the Store's Capabilities.Notify: a subscription to the feed,
// which it starts.
func (s *Store) notify(ctx context.Context) (<-chan struct{}, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("postgres: Notify: %w", revoke.ErrClosed)
	}
	if s.feed == nil {
		return nil, fmt.Errorf("%w: Notify: the pool is not pgx's and no WithFeedConfig was given", ErrOption)
	}
	return s.feed.subscribe(ctx), nil
}

func (f *feed) subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	f.subs[ch] = struct{}{}
	if !f.started {
		f.started = true
		f.wg.Add(1)
		go f.run()
	}
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		select {
		case <-ctx.Done():
		case <-f.ctx.Done():
		}
		f.mu.Lock()
		delete(f.subs, ch)
		f.mu.Unlock()
		close(ch)
	}()
	return ch
}

// stop ends the feed and waits for its goroutines; the subscribers'
// channels are closed.
func (f *feed) stop() {
	f.cancel()
	f.wg.Wait()
}

// signal sends to every subscriber that has no signal pending.
func (f *feed) signal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// run listens until stop, reconnecting with backoff.
func (f *feed) run() {
	defer f.wg.Done()
	delay := f.min
	for {
		if f.listen() {
			delay = f.min // it was up: start the backoff again
		}
		// Jitter, so that replicas cut off together do not reconnect in
		// step.
		d := delay/2 + rand.N(delay/2+1)
		select {
		case <-f.ctx.Done():
			return
		case <-time.After(d):
		}
		delay = min(2*delay, f.max)
	}
}

// listen connects, LISTENs, signals the subscribers to catch up (what was
// committed while the feed was down was not announced), and passes every
// notification on until the connection fails or the feed stops. It reports
// whether the LISTEN took.
func (f *feed) listen() bool {
	ctx := f.ctx
	conn, err := pgx.ConnectConfig(ctx, f.cfg)
	if err != nil {
		return false
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, `LISTEN "`+f.channel+`"`); err != nil {
		return false
	}
	f.signal()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true
		}
		f.signal()
	}
}
