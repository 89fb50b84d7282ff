package bolt

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// TestUpdateStopsWaitingAtItsDeadline checks that an Update queued behind
// another commit returns its context's error when its deadline passes,
// rather than when the commit ahead of it ends, and writes nothing.
func TestUpdateStopsWaitingAtItsDeadline(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "revocation.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.jr.wmu.Lock() // a commit under way that does not end
	ctx, cancel := context.WithTimeout(bg, 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec("a", "a")}) })
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Update behind a held commit lock = %v, want DeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second): // a bound on a hang, not a timing check
		s.jr.wmu.Unlock()
		<-done
		t.Fatal("Update did not return at its deadline while another commit held the lock")
	}
	s.jr.wmu.Unlock()
	want(t, s)
}
