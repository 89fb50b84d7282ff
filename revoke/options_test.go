package revoke_test

import (
	"context"
	"errors"
	"math"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// TestNewRefusesBadOptions checks that every option is validated at New,
// so that none panics or misbehaves later.
func TestNewRefusesBadOptions(t *testing.T) {
	cases := map[string][]revoke.Option{
		"nil option":              {nil},
		"nil option after others": {revoke.WithPurge(revoke.PurgePolicy{Grace: time.Minute, Batch: revoke.DefaultPurgeBatch}), nil},
		"nil clock":               {revoke.WithClock(nil)},
		"nil logger":              {revoke.WithLogger(nil)},
		"negative grace":          {revoke.WithPurge(revoke.PurgePolicy{Grace: -time.Second, Batch: revoke.DefaultPurgeBatch})},
		"grace over the bound":    {revoke.WithPurge(revoke.PurgePolicy{Grace: revoke.MaxPurgeGrace + 1, Batch: revoke.DefaultPurgeBatch})},
		"zero batch":              {revoke.WithPurge(revoke.PurgePolicy{Grace: revoke.DefaultPurgeGrace, Batch: 0})},
		"negative batch":          {revoke.WithPurge(revoke.PurgePolicy{Grace: revoke.DefaultPurgeGrace, Batch: -1})},
		"batch of MaxInt":         {revoke.WithPurge(revoke.PurgePolicy{Grace: revoke.DefaultPurgeGrace, Batch: math.MaxInt})},
		"batch of 1<<24":          {revoke.WithPurge(revoke.PurgePolicy{Grace: revoke.DefaultPurgeGrace, Batch: 1 << 24})},
		"negative janitor":        {revoke.WithPurge(revoke.PurgePolicy{Grace: revoke.DefaultPurgeGrace, Batch: revoke.DefaultPurgeBatch, Every: -time.Second})},
		"janitor of 1ns":          {revoke.WithPurge(revoke.PurgePolicy{Grace: revoke.DefaultPurgeGrace, Batch: revoke.DefaultPurgeBatch, Every: time.Nanosecond})},
		"negative sync interval":  {revoke.WithFollow(revoke.FollowPolicy{Interval: -time.Second})},
		"sync interval of 1ns":    {revoke.WithFollow(revoke.FollowPolicy{Interval: time.Nanosecond})},
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			r, err := revoke.New(memory.New(), opts...)
			if !errors.Is(err, revoke.ErrInvalidOption) {
				if r != nil {
					_ = r.Close()
				}
				t.Fatalf("New: err = %v, want ErrInvalidOption", err)
			}
		})
	}
	if _, err := revoke.New(nil); !errors.Is(err, revoke.ErrInvalidOption) {
		t.Errorf("New(nil): err = %v, want ErrInvalidOption", err)
	}
}

// TestNewAcceptsBounds checks that the bounds themselves are accepted.
func TestNewAcceptsBounds(t *testing.T) {
	r, err := revoke.New(memory.New(),
		revoke.WithPurge(revoke.PurgePolicy{Grace: revoke.MaxPurgeGrace, Batch: revoke.MaxPurgeBatch, Every: revoke.MinJanitorInterval}),
		revoke.WithFollow(revoke.FollowPolicy{Interval: revoke.MinSyncInterval}))
	if err != nil {
		t.Fatalf("New at the bounds: %v", err)
	}
	_ = r.Close()
}

// TestPurgeAllocatesWithWhatItFinds checks that Purge's memory follows the
// records it deletes, not the batch limit: with the largest batch, a purge
// of an empty store allocates next to nothing.
func TestPurgeAllocatesWithWhatItFinds(t *testing.T) {
	r, err := revoke.New(memory.New(), revoke.WithPurge(revoke.PurgePolicy{Grace: revoke.DefaultPurgeGrace, Batch: revoke.MaxPurgeBatch}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, err := r.Purge(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	// One batch's worth of IDs is 3.2 MB; ten purges allocating it would
	// be 32 MB.
	if got := after.TotalAlloc - before.TotalAlloc; got > 256<<10 {
		t.Errorf("10 purges of an empty store allocated %d bytes, want well under one batch (%d bytes)", got, revoke.MaxPurgeBatch*32)
	}
}

// TestJanitorPurges checks that PurgePolicy.Every purges in the background.
func TestJanitorPurges(t *testing.T) {
	start := time.Now()
	var offset atomic.Int64
	clock := func() time.Time { return start.Add(time.Duration(offset.Load())) }
	now := start
	s := memory.New()
	r, err := revoke.New(s, revoke.WithClock(clock), revoke.WithPurge(revoke.PurgePolicy{Grace: 0, Batch: revoke.DefaultPurgeBatch, Every: revoke.MinJanitorInterval}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	if err := r.Issue(ctx, revoke.Token{Value: "t", Kind: revoke.Access, ClientID: "c", ExpiresAt: now.Add(time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Revoke(ctx, "t", "c"); err != nil {
		t.Fatal(err)
	}
	// Time passes for the Revoker only; the janitor purges on its own.
	offset.Store(int64(3 * revoke.ExpiryResolution))
	deadline := time.Now().Add(10 * time.Second)
	for {
		revoked, err := r.IsRevoked(ctx, "t")
		if err != nil {
			t.Fatal(err)
		}
		if !revoked {
			return // purged and swept from the index
		}
		if time.Now().After(deadline) {
			t.Fatal("the janitor did not purge an expired record within 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
