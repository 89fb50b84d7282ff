package bolt

import (
	"fmt"
	"sync"

	"github.com/sdkauth/revocation/revoke"
	bbolt "go.etcd.io/bbolt"
)

// inUse holds the (database, bucket) pairs that an open Store runs on. Two
// Stores over the same bucket of one *bbolt.DB would each feed a Revoker
// whose index never learns the other's revocations (bbolt is one process,
// so neither is Shared), so New refuses the second.
var inUse struct {
	mu sync.Mutex
	m  map[dbBucket]struct{}
}

type dbBucket struct {
	db     *bbolt.DB
	bucket string
}

func claim(db *bbolt.DB, bucket string) error {
	inUse.mu.Lock()
	defer inUse.mu.Unlock()
	k := dbBucket{db, bucket}
	if _, ok := inUse.m[k]; ok {
		return fmt.Errorf("bucket %q of this *bbolt.DB already has an open Store; share it (and its Revoker): %w", bucket, revoke.ErrStoreInUse)
	}
	if inUse.m == nil {
		inUse.m = make(map[dbBucket]struct{})
	}
	inUse.m[k] = struct{}{}
	return nil
}

func release(db *bbolt.DB, bucket string) {
	inUse.mu.Lock()
	defer inUse.mu.Unlock()
	delete(inUse.m, dbBucket{db, bucket})
}
