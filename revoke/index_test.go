package revoke_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// TestChecksumCollision finds two tokens with the same CRC-32C and checks
// that revoking one does not make the other look revoked: the index confirms
// a checksum match against the SHA-256 ID.
func TestChecksumCollision(t *testing.T) {
	seen := make(map[uint32]string)
	var a, b string
	for i := 0; ; i++ {
		tok := fmt.Sprintf("token-%d", i)
		c := revoke.Checksum(tok)
		if other, ok := seen[c]; ok {
			a, b = other, tok
			break
		}
		seen[c] = tok
	}
	ctx := context.Background()
	r, err := revoke.New(memory.New())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	exp := time.Now().Add(time.Hour)
	for _, tok := range []string{a, b} {
		if err := r.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Access, ClientID: "c", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Revoke(ctx, a, "c"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := r.IsRevoked(ctx, a); !ok {
		t.Errorf("%q not revoked", a)
	}
	if ok, _ := r.IsRevoked(ctx, b); ok {
		t.Errorf("%q shares %q's checksum and was reported revoked", b, a)
	}
	if _, err := r.Revoke(ctx, b, "c"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := r.IsRevoked(ctx, b); !ok {
		t.Errorf("%q not revoked after its own Revoke", b)
	}
}

// TestIndexAgainstModel revokes thousands of tokens with scattered expiries,
// purges as the clock moves, and compares every IsRevoked answer with a
// plain map, so that the index's growth and deletions are exercised through
// the public API.
func TestIndexAgainstModel(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	r, err := revoke.New(memory.New(), revoke.WithClock(clock), revoke.WithPurge(revoke.PurgePolicy{Grace: 0, Batch: revoke.DefaultPurgeBatch}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	type tok struct {
		exp     time.Time
		revoked bool
	}
	model := make(map[string]*tok)
	var all []string
	for step := range 12 {
		for range 300 {
			v := fmt.Sprintf("tok-%d-%d", step, rng.Uint64())
			exp := now.Add(time.Duration(1+rng.IntN(7200)) * time.Second)
			if err := r.Issue(ctx, revoke.Token{Value: v, Kind: revoke.Access, ClientID: "c", ExpiresAt: exp}); err != nil {
				t.Fatal(err)
			}
			model[v] = &tok{exp: exp}
			all = append(all, v)
			if rng.IntN(3) > 0 {
				if _, err := r.Revoke(ctx, v, "c"); err != nil {
					t.Fatal(err)
				}
				model[v].revoked = true
			}
		}
		now = now.Add(10 * time.Minute)
		if _, err := r.Purge(ctx); err != nil {
			t.Fatal(err)
		}
		for _, v := range all {
			m := model[v]
			want := m.revoked && !m.exp.Before(now)
			got, err := r.IsRevoked(ctx, v)
			if err != nil {
				t.Fatal(err)
			}
			// An expired revocation may still be held (the index drops
			// them lazily, to the hour): either answer is right for it.
			if got != want && !(m.revoked && m.exp.Before(now)) {
				t.Fatalf("step %d: IsRevoked = %v, want %v (revoked %v, expires in %v)", step, got, want, m.revoked, m.exp.Sub(now))
			}
		}
	}
}

// TestIndexConcurrentReaders checks IsRevoked while the index grows, is
// swept and is compacted under it: a token revoked before the readers
// started must never be reported live, and a token never issued never
// revoked.
func TestIndexConcurrentReaders(t *testing.T) {
	ctx := context.Background()
	var now atomic.Int64
	now.Store(time.Unix(1_800_000_000, 0).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	r, err := revoke.New(memory.New(), revoke.WithClock(clock), revoke.WithPurge(revoke.PurgePolicy{Grace: 0, Batch: revoke.DefaultPurgeBatch}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	issueRevoked := func(prefix string, n int, ttl time.Duration) []string {
		toks := make([]string, n)
		for i := range toks {
			toks[i] = fmt.Sprintf("%s-%d", prefix, i)
			if err := r.Issue(ctx, revoke.Token{Value: toks[i], Kind: revoke.Access, ClientID: "c", ExpiresAt: clock().Add(ttl)}); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Revoke(ctx, toks[i], "c"); err != nil {
				t.Fatal(err)
			}
		}
		return toks
	}
	kept := issueRevoked("kept", 500, 24*time.Hour)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				if ok, err := r.IsRevoked(ctx, kept[(i+w*7)%len(kept)]); err != nil || !ok {
					t.Errorf("a revoked token was reported live (err %v)", err)
					return
				}
				if ok, _ := r.IsRevoked(ctx, fmt.Sprintf("never-%d", i)); ok {
					t.Error("a token never issued was reported revoked")
					return
				}
			}
		})
	}
	for round := range 6 {
		issueRevoked(fmt.Sprintf("churn%d", round), 800, time.Minute)
		now.Add(int64(2 * time.Minute))
		if _, err := r.Purge(ctx); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
}
