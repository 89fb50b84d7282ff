package memory

import (
	"context"
	"fmt"
	"sync"

	"github.com/sdkauth/revocation/revoke"
)

// Store is a revoke.Store in process memory. The zero value is an empty
// Store ready to use, as is New's. It is safe for concurrent use.
//
// Updates run one at a time and write to a private overlay, which the
// commit applies under a brief write lock: a View never waits for an
// Update to finish, only for a commit to be applied.
type Store struct {
	wmu sync.Mutex // serializes Updates

	mu     sync.RWMutex // guards the committed state
	closed bool
	state  state
}

var (
	_ revoke.Store = (*Store)(nil)
	_ revoke.Tx    = (*tx)(nil)
)

// New returns an empty Store. It is the same as new(Store).
func New() *Store {
	return &Store{}
}

// Capabilities declares nothing: the store serves one process.
func (s *Store) Capabilities() revoke.Capabilities { return revoke.Capabilities{} }

// View runs fn in a read-only transaction over the committed state. Views
// run concurrently with each other and with Updates.
func (s *Store) View(ctx context.Context, fn func(revoke.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("memory: %w", revoke.ErrClosed)
	}
	return fn(&tx{base: &s.state})
}

// Update runs fn in a read-write transaction. Updates run one at a time; if
// fn returns an error, or ctx is done when fn returns, nothing it wrote is
// kept.
func (s *Store) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return fmt.Errorf("memory: %w", revoke.ErrClosed)
	}
	// Only this goroutine changes the state while wmu is held, so the
	// transaction reads it without the lock; a commit takes mu to write.
	t := &tx{base: &s.state, writes: newOverlay(), seq: s.state.seq}
	if err := fn(t); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		// The context ended before the commit: nothing fn wrote is kept.
		return fmt.Errorf("memory: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memory: %w", revoke.ErrClosed)
	}
	s.state.apply(t.writes, t.seq)
	return nil
}

// Close discards the records. Later calls return revoke.ErrClosed.
func (s *Store) Close() error {
	s.wmu.Lock() // an Update under way reads the state without mu
	defer s.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("memory: %w", revoke.ErrClosed)
	}
	s.closed = true
	s.state = state{}
	return nil
}
