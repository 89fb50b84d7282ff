package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/storage"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

const tokens = 100_000

func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// BenchmarkPeers answers "is this token known?" for tokens that are (Hit)
// and are not (Miss) in a set of 100,000: fosite's in-memory store keyed by
// the raw token signature, against revocation's IsRevoked, which keeps only
// SHA-256 IDs and a CRC-32C prefilter.
func BenchmarkPeers(b *testing.B) {
	ctx := context.Background()
	known := make([]string, tokens)
	unknown := make([]string, tokens)
	for i := range known {
		known[i], unknown[i] = newToken(), newToken()
	}

	fs := storage.NewMemoryStore()
	for i, sig := range known {
		req := fosite.NewRequest()
		req.ID = "req-" + sig[:8] + string(rune('a'+i%26))
		if err := fs.CreateAccessTokenSession(ctx, sig, req); err != nil {
			b.Fatal(err)
		}
	}
	r, err := revoke.New(memory.New())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	exp := time.Now().Add(time.Hour)
	for _, tok := range known {
		if err := r.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Access, ClientID: "bench", ExpiresAt: exp}); err != nil {
			b.Fatal(err)
		}
		if _, err := r.Revoke(ctx, tok, "bench"); err != nil {
			b.Fatal(err)
		}
	}

	fositeLookup := func(tok string) bool {
		_, err := fs.GetAccessTokenSession(ctx, tok, nil)
		if err != nil && err != fosite.ErrNotFound { // the sentinel itself: errors.Is would cost more than the lookup
			b.Fatal(err)
		}
		return err == nil
	}
	ours := func(tok string) bool {
		ok, err := r.IsRevoked(ctx, tok)
		if err != nil {
			b.Fatal(err)
		}
		return ok
	}
	for _, impl := range []struct {
		name   string
		lookup func(string) bool
	}{{"fosite", fositeLookup}, {"revocation", ours}} {
		for _, set := range []struct {
			name string
			toks []string
			want bool
		}{{"Hit", known, true}, {"Miss", unknown, false}} {
			b.Run(impl.name+"/"+set.name+"/Serial", func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					if impl.lookup(set.toks[i%tokens]) != set.want {
						b.Fatal("wrong answer")
					}
				}
			})
			b.Run(impl.name+"/"+set.name+"/Parallel", func(b *testing.B) {
				b.ReportAllocs()
				var next atomic.Uint64
				b.RunParallel(func(pb *testing.PB) {
					i := next.Add(7919)
					for pb.Next() {
						i++
						if impl.lookup(set.toks[i%tokens]) != set.want {
							b.Error("wrong answer")
							return
						}
					}
				})
			})
		}
	}
}
