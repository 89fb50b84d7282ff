package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// TestClockIsTheServers checks Capabilities.Clock, the clock a Revoker
// purges by when it is earlier than its own: it reads the server, and
// fails after Close.
func TestClockIsTheServers(t *testing.T) {
	ctx := context.Background()
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(freshPrefix(t)))
	if err != nil {
		t.Fatal(err)
	}
	var want time.Time
	if err := admin(t).QueryRowxContext(ctx, `SELECT clock_timestamp()`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Capabilities().Clock(ctx)
	if err != nil {
		t.Fatalf("Clock: %v", err)
	}
	// Read after want from the same server: it cannot be earlier, and it
	// is in UTC.
	if got.Before(want) || got.Location() != time.UTC {
		t.Errorf("Clock = %v, want a UTC time not before the server's %v", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Capabilities().Clock(ctx); !errors.Is(err, revoke.ErrClosed) {
		t.Errorf("Clock after Close: %v, want ErrClosed", err)
	}
}
