//go:build cgo

package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/sqlite"
)

// TestLockedPastBusyTimeout holds the database's write lock from another
// connection (as another process would) for longer than the busy timeout:
// the write fails with an error wrapping revoke.ErrUnavailable, so the HTTP
// layer answers 503, and succeeds once the lock is released.
func TestLockedPastBusyTimeout(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rev.db")
	s, err := sqlite.Open(path, sqlite.WithBusyTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	conn := holdWriteLock(t, path)
	tok := revoke.Token{Value: "tok-busy", Kind: revoke.Access, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)}
	err = r.Issue(ctx, tok)
	if !errors.Is(err, revoke.ErrUnavailable) {
		t.Fatalf("Issue under another writer's lock: %v, want an error wrapping revoke.ErrUnavailable", err)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if err := r.Issue(ctx, tok); err != nil {
		t.Fatalf("Issue after the lock was released: %v", err)
	}
}

// TestContextEndsWhileLocked: a write whose context ends while it waits for
// another process's write lock fails with an error wrapping the context's
// error, so that its caller, and the Revoker, see a caller that gave up
// rather than a failure of the store.
func TestContextEndsWhileLocked(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rev.db")
	s, err := sqlite.Open(path, sqlite.WithBusyTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	holdWriteLock(t, path)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	ran := false
	err = s.Update(short, func(revoke.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, revoke.ErrUnavailable) || ran {
		t.Fatalf("Update whose context ended while it waited for the lock: %v (fn ran: %v), want an error wrapping context.DeadlineExceeded and not revoke.ErrUnavailable", err, ran)
	}
}

// holdWriteLock takes the write lock of the database at path from a
// connection of its own (as another process would), and returns that
// connection, which the test's end rolls back and closes.
func holdWriteLock(t *testing.T, path string) *sql.Conn {
	t.Helper()
	ctx := context.Background()
	other := sqlx.MustOpen("sqlite3", path)
	t.Cleanup(func() { _ = other.Close() })
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.ExecContext(ctx, "ROLLBACK") })
	return conn
}
