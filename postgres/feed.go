package postgres

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// feed is the Store's change feed (see the package documentation), started
// by the first subscriber.
type feed struct {
	cfg      *pgx.ConnConfig
	channel  string
	min, max time.Duration

	mu     sync.Mutex
	subs   map[chan struct{}]struct{}
	start  sync.Once
	ctx    context.Context // cancelled by stop
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// notify is the Store's Capabilities.Notify: a subscription to the feed,
// which it starts.
func (s *Store) notify(ctx context.Context) (<-chan struct{}, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return nil, err
	}
	return s.feed.subscribe(ctx), nil
}

func (f *feed) subscribe(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[ch] = struct{}{}
	f.start.Do(func() { f.wg.Add(1); go f.run() })
	context.AfterFunc(ctx, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if _, ok := f.subs[ch]; ok {
			delete(f.subs, ch)
			close(ch)
		}
	})
	return ch
}

// stop ends the feed, waits for it, and closes the subscribers' channels.
func (f *feed) stop() {
	f.cancel()
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	for ch := range f.subs {
		delete(f.subs, ch)
		close(ch)
	}
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
