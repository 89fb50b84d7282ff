package revoke_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// TestIndexProperty compares an Index with a plain map over a million
// random operations (add a new token, add one again with another expiry,
// let time pass and sweep, check a token added or never added; an eighth
// as many under -race, see atScale), while another goroutine checks tokens
// revoked for good. The index may answer either way for a token that has
// expired; for any other it must agree with the map: never a false
// negative, never a token that was not added.
func TestIndexProperty(t *testing.T) {
	ops := atScale(1_000_000)
	x := revoke.NewIndex()
	now := time.Now()
	rng := rand.New(rand.NewPCG(3, 4))
	model := make(map[string]time.Time)
	var toks []string
	var stop atomic.Bool
	var wg sync.WaitGroup
	forever := make([]string, 64)
	for i := range forever {
		forever[i] = fmt.Sprint("forever-", i)
		x.Add(revoke.Revocation{ID: revoke.TokenID(forever[i]), ExpiresAt: now.Add(10 * 365 * 24 * time.Hour)})
	}
	wg.Go(func() {
		for i := 0; !stop.Load(); i++ {
			if !x.Contains(forever[i%len(forever)]) {
				t.Errorf("a token revoked for good was reported live")
				return
			}
		}
	})
	defer func() { stop.Store(true); wg.Wait() }()
	sweeps, swept := 0, 0
	for op := range ops {
		switch n := rng.IntN(100); {
		case n < 40 || len(toks) == 0: // a new token
			tok := fmt.Sprint("t-", op)
			exp := now.Add(time.Duration(rng.IntN(72*3600)) * time.Second)
			x.Add(revoke.Revocation{ID: revoke.TokenID(tok), ExpiresAt: exp})
			model[tok] = exp
			toks = append(toks, tok)
		case n < 45: // an old one again, with another expiry
			tok := toks[rng.IntN(len(toks))]
			exp := now.Add(time.Duration(rng.IntN(72*3600)) * time.Second)
			x.Add(revoke.Revocation{ID: revoke.TokenID(tok), ExpiresAt: exp})
			if exp.After(model[tok]) {
				model[tok] = exp
			}
		case n < 46: // time passes
			now = now.Add(time.Duration(rng.IntN(4*3600)) * time.Second)
			sweeps++
			swept += x.Sweep(now)
		case n < 73:
			tok := toks[rng.IntN(len(toks))]
			if got := x.Contains(tok); !got && !model[tok].Before(now) {
				t.Fatalf("op %d: %q, revoked until %v, reported live at %v", op, tok, model[tok], now)
			}
		default:
			tok := fmt.Sprint("never-", op)
			if x.Contains(tok) {
				t.Fatalf("op %d: %q, never added, reported revoked", op, tok)
			}
		}
	}
	live := 0
	for _, exp := range model {
		if !exp.Before(now) {
			live++
		}
	}
	if n := x.Len() - len(forever); n < live || n > len(model) {
		t.Errorf("Len %d: want between the %d unexpired and the %d added", n, live, len(model))
	}
	if swept == 0 {
		t.Errorf("%d sweeps dropped nothing", sweeps)
	}
	t.Logf("%d ops, %d tokens, %d sweeps dropped %d; %d held, %d unexpired", ops, len(model), sweeps, swept, x.Len(), live)
}
