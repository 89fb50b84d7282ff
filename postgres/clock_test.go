package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// TestNowIsTheServersClock checks Store.Now, the clock a Revoker purges by
// when it is earlier than its own (revoke.StoreClock): it reads the server,
// and fails after Close.
func TestNowIsTheServersClock(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(freshPrefix(t)))
	if err != nil {
		t.Fatal(err)
	}
	var want time.Time
	if err := admin(t).QueryRowxContext(ctx, `SELECT clock_timestamp()`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Now(ctx)
	if err != nil {
		t.Fatalf("Now: %v", err)
	}
	// Read after want from the same server: it cannot be earlier, and it
	// is in UTC.
	if got.Before(want) || got.Location() != time.UTC {
		t.Errorf("Now = %v, want a UTC time not before the server's %v", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Now(ctx); !errors.Is(err, revoke.ErrClosed) {
		t.Errorf("Now after Close: %v, want ErrClosed", err)
	}
}
