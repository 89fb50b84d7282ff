package memory_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) revoke.Store { return memory.New() })
}

// TestConformanceZeroValue runs the suite over zero-value Stores: the zero
// value is usable, as the documentation promises.
func TestConformanceZeroValue(t *testing.T) {
	storetest.Run(t, func(*testing.T) revoke.Store { return new(memory.Store) })
}

// TestUpdateCancelledBeforeCommitWritesNothing checks that an Update whose
// context ends while fn runs keeps nothing fn wrote and returns the
// context's error, as the revoke.Store contract asks.
func TestUpdateCancelledBeforeCommitWritesNothing(t *testing.T) {
	s := memory.New()
	ctx, cancel := context.WithCancel(context.Background())
	rec := revoke.Record{ID: revoke.TokenID("t"), Kind: revoke.Access, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour).UTC()}
	rec.Grant = rec.ID
	err := s.Update(ctx, func(tx revoke.Tx) error {
		if err := tx.Put(ctx, []revoke.Record{rec}); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update cancelled before its commit: err = %v, want context.Canceled", err)
	}
	err = s.View(context.Background(), func(tx revoke.Tx) error {
		if recs, err := tx.Get(context.Background(), []revoke.ID{rec.ID}); err != nil || len(recs) != 0 {
			found := len(recs) != 0
			return fmt.Errorf("Get = (found %v, %v), want nothing", found, err)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}
