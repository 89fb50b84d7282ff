package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// now is the Store's Capabilities.Clock: the database server's clock.
func (s *Store) now(ctx context.Context) (time.Time, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	switch {
	case s.closed:
		return time.Time{}, fmt.Errorf("postgres: %w", revoke.ErrClosed)
	case s.db == nil:
		return time.Time{}, errZeroStore
	}
	var now time.Time
	if err := s.db.QueryRowxContext(ctx, `SELECT clock_timestamp()`).Scan(&now); err != nil {
		return time.Time{}, wrapf(err, "reading the server's clock")
	}
	return now.UTC(), nil
}
