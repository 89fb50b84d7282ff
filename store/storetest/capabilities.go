package storetest

import (
	"context"
	"fmt"
	"time"
)

// testCapabilitiesStable: Capabilities declares the same every time, and
// what it declares works: a Clock tells a time, a Notify channel closes
// when its context ends.
func testCapabilitiesStable(f *fixture) {
	first := f.s.Capabilities()
	for range 3 {
		c := f.s.Capabilities()
		if c.Shared != first.Shared || (c.Notify == nil) != (first.Notify == nil) || (c.Clock == nil) != (first.Clock == nil) {
			f.t.Fatalf("Capabilities changed between calls: Shared %v then %v, Notify set %v then %v, Clock set %v then %v",
				first.Shared, c.Shared, first.Notify != nil, c.Notify != nil, first.Clock != nil, c.Clock != nil)
		}
	}
	if first.Clock != nil {
		if now, err := first.Clock(f.ctx); err != nil || now.IsZero() {
			f.t.Errorf("Capabilities.Clock = (%v, %v), want the server's time", now, err)
		}
	}
	if first.Notify != nil {
		if err := checkNotifyCloses(f.ctx, first.Notify); err != nil {
			f.t.Error(err)
		}
	}
}

// checkNotifyCloses checks that a channel of notify closes when its
// context ends.
func checkNotifyCloses(ctx context.Context, notify func(context.Context) (<-chan struct{}, error)) error {
	ctx, cancel := context.WithCancel(ctx)
	ch, err := notify(ctx)
	if err != nil {
		cancel()
		return fmt.Errorf("Capabilities.Notify: %w", err)
	}
	cancel()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return nil
			}
		case <-timeout:
			return fmt.Errorf("Capabilities.Notify: the channel was not closed 10s after its context ended")
		}
	}
}
