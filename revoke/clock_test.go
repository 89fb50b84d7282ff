package revoke_test

import (
	"context"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// slowServerStore is a memory store whose "server" clock runs behind this
// process's by lag, as a database's does when this replica's clock is fast.
type slowServerStore struct {
	*memory.Store
	lag time.Duration
}

func (s slowServerStore) Capabilities() revoke.Capabilities {
	return revoke.Capabilities{Clock: func(context.Context) (time.Time, error) { return time.Now().Add(-s.lag), nil }}
}

// TestPurgeByTheEarlierClock checks that a Revoker on the default clock over
// a store with a clock of its own does not purge a revoked record that its
// own clock holds expired but the store's does not.
func TestPurgeByTheEarlierClock(t *testing.T) {
	ctx := context.Background()
	s := slowServerStore{memory.New(), 20 * time.Minute}
	id := revoke.TokenID("valid-elsewhere")
	// Expired 10 minutes ago by this clock (past the 5-minute grace), valid
	// for 10 more by the store's.
	rec := revoke.Record{ID: id, Check: revoke.Checksum("valid-elsewhere"), Kind: revoke.Access,
		ClientID: "app", Grant: id, ExpiresAt: time.Now().Add(-10 * time.Minute).UTC(), Seq: 1}
	mustDo(t, s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) }))
	r, err := revoke.New(s)
	mustDo(t, err)
	defer r.Close()
	if n, err := r.Purge(ctx); err != nil || n != 0 {
		t.Errorf("Purge = (%d, %v), want (0, nil): the store's clock holds the token valid", n, err)
	}
	var found bool
	mustDo(t, s.View(ctx, func(tx revoke.Tx) error {
		_, found, err = getOne(ctx, tx, id)
		return err
	}))
	if !found {
		t.Error("the record was purged")
	}
}
