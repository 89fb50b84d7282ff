package revoke

import (
	"reflect"
	"sync"
)

// inUse holds the Stores that an open Revoker runs on. A second Revoker over
// the same Store would keep an index of its own that never learns the first
// one's revocations (a Store that is not Shared has no feed to follow), so
// New refuses it. Stores whose dynamic type is not comparable cannot be told
// apart and are not tracked.
var inUse struct {
	mu sync.Mutex
	m  map[Store]struct{}
}

// claim marks s as run by a Revoker, or returns ErrStoreInUse.
func claim(s Store) error {
	if !reflect.ValueOf(s).Comparable() {
		return nil
	}
	inUse.mu.Lock()
	defer inUse.mu.Unlock()
	if _, ok := inUse.m[s]; ok {
		return ErrStoreInUse
	}
	if inUse.m == nil {
		inUse.m = make(map[Store]struct{})
	}
	inUse.m[s] = struct{}{}
	return nil
}

// release undoes claim.
func release(s Store) {
	if !reflect.ValueOf(s).Comparable() {
		return
	}
	inUse.mu.Lock()
	defer inUse.mu.Unlock()
	delete(inUse.m, s)
}
