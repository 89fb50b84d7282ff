package bolt

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// TestJournalCloseWhileWaiting: Updates wait at the journal's bound while
// the applier is stuck; Close, called then, waits for them, and neither
// deadlocks: when the application goes through, the Updates commit, and
// when it fails, they return its error.
func TestJournalCloseWhileWaiting(t *testing.T) {
	for _, fails := range []bool{false, true} {
		t.Run(fmt.Sprint("fails=", fails), func(t *testing.T) { closeWhileWaiting(t, fails) })
	}
}

var errInjected = errors.New("injected apply failure")

func closeWhileWaiting(t *testing.T, fails bool) {
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	onApply(t, func() error {
		first := false
		once.Do(func() { first = true })
		if first {
			close(entered)
			<-release
		}
		if fails {
			return errInjected
		}
		return nil
	})
	s, err := Open(filepath.Join(t.TempDir(), "revocation.db"), withApply(1, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for i := range applyLimitFactor {
		put(t, s, rec(fmt.Sprint("r", i), fmt.Sprint("r", i)))
	}
	<-entered // the applier holds the first batch; three more wait
	select {
	case <-s.jr.kick: // the commits' own kick
	default:
	}
	const waiters = 3
	results := make(chan error, waiters)
	for i := range waiters {
		go func() {
			results <- s.Update(bg, func(tx revoke.Tx) error { return tx.Put(bg, []revoke.Record{rec(fmt.Sprint("w", i), "w")}) })
		}()
	}
	// A waiter kicks the stuck applier; the kick stays pending, which
	// says that one is waiting. Close then waits for it (the others
	// may not have started: Close refuses those with ErrClosed).
	for len(s.jr.kick) == 0 {
		runtime.Gosched()
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	close(release)
	if waited := waitersDone(t, results, waiters, fails); waited == 0 {
		t.Error("every Update was refused as closed: none waited")
	}
	if err := <-closed; fails != (err != nil) {
		t.Errorf("Close: %v", err)
	}
}

// waitersDone checks the results of n waiting Updates and returns how many
// waited rather than being refused as closed.
func waitersDone(t *testing.T, results <-chan error, n int, fails bool) int {
	waited := 0
	for range n {
		err := <-results
		switch {
		case errors.Is(err, revoke.ErrClosed):
		case fails && !errors.Is(err, errInjected):
			t.Errorf("waiting Update: %v, want the application's error", err)
		case !fails && err != nil:
			t.Errorf("waiting Update: %v", err)
		default:
			waited++
		}
	}
	return waited
}
