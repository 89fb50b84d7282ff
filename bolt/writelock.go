package bolt

import "context"

// writeLock is a mutex that a writer can stop waiting for when its context
// ends: one token, taken by Lock or lockContext and given back by Unlock.
type writeLock chan struct{}

// Lock takes the lock, waiting as long as it takes.
func (l writeLock) Lock() { l <- struct{}{} }

// Unlock gives the lock back.
func (l writeLock) Unlock() { <-l }

// lockContext takes the lock, or returns ctx's error if ctx ends first.
func (l writeLock) lockContext(ctx context.Context) error {
	select {
	case l <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
