package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

var _ revoke.StoreClock = (*Store)(nil)

// Now returns the database server's clock. A Revoker purges by the earlier
// of its own clock and this one, so that a replica whose clock runs fast
// cannot purge records the database still holds unexpired (see
// revoke.StoreClock).
func (s *Store) Now(ctx context.Context) (time.Time, error) {
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
