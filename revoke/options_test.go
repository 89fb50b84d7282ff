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
		"nil option after others": {revoke.WithPurgeGrace(time.Minute), nil},
		"nil clock":               {revoke.WithClock(nil)},
		"nil logger":              {revoke.WithLogger(nil)},
		"negative grace":          {revoke.WithPurgeGrace(-time.Second)},
		"grace over the bound":    {revoke.WithPurgeGrace(revoke.MaxPurgeGrace + 1)},
		"zero batch":              {revoke.WithPurgeBatch(0)},
		"negative batch":          {revoke.WithPurgeBatch(-1)},
		"batch of MaxInt":         {revoke.WithPurgeBatch(math.MaxInt)},
		"batch of 1<<24":          {revoke.WithPurgeBatch(1 << 24)},
		"negative janitor":        {revoke.WithJanitor(-time.Second)},
		"janitor of 1ns":          {revoke.WithJanitor(time.Nanosecond)},
		"negative sync interval":  {revoke.WithSyncInterval(-time.Second)},
		"sync interval of 1ns":    {revoke.WithSyncInterval(time.Nanosecond)},
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
		revoke.WithPurgeGrace(revoke.MaxPurgeGrace), revoke.WithPurgeBatch(revoke.MaxPurgeBatch),
		revoke.WithJanitor(revoke.MinJanitorInterval), revoke.WithSyncInterval(revoke.MinSyncInterval))
	if err != nil {
		t.Fatalf("New at the bounds: %v", err)
	}
	_ = r.Close()
}

// TestPurgeAllocatesWithWhatItFinds checks that Purge's memory follows the
// records it deletes, not the batch limit: with the largest batch, a purge
// of an empty store allocates next to nothing.
func TestPurgeAllocatesWithWhatItFinds(t *testing.T) {
	r, err := revoke.New(memory.New(), revoke.WithPurgeBatch(revoke.MaxPurgeBatch))
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

// TestJanitorPurges checks that WithJanitor purges in the background.
func TestJanitorPurges(t *testing.T) {
	start := time.Now()
	var offset atomic.Int64
	clock := func() time.Time { return start.Add(time.Duration(offset.Load())) }
	now := start
	s := memory.New()
	r, err := revoke.New(s, revoke.WithClock(clock), revoke.WithJanitor(revoke.MinJanitorInterval), revoke.WithPurgeGrace(0))
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
	offset.Store(int64(time.Hour))
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
