package bolt_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/revoke"
)

// BenchmarkIssue: one Issue at a time, each its own durable commit.
func BenchmarkIssue(b *testing.B) {
	r := benchRevoker(b)
	exp := time.Now().Add(time.Hour)
	for i := 0; b.Loop(); i++ {
		if err := r.Issue(ctx, revoke.Token{Value: fmt.Sprint("tok-", i), Kind: revoke.Refresh, ClientID: "c", ExpiresAt: exp}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIssueParallel: concurrent Issues, which the Revoker commits in
// shared transactions.
func BenchmarkIssueParallel(b *testing.B) {
	r := benchRevoker(b)
	exp := time.Now().Add(time.Hour)
	var n atomic.Int64
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := r.Issue(ctx, revoke.Token{Value: fmt.Sprint("tok-", n.Add(1)), Kind: revoke.Refresh, ClientID: "c", ExpiresAt: exp}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchRevoker(b *testing.B) *revoke.Revoker {
	s, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	r, err := revoke.New(s)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	return r
}

// BenchmarkStartup: Open and revoke.New over a store holding n revoked
// tokens (and as many live ones), which loads them all from the
// revocation index.
func BenchmarkStartup(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.db")
			s, err := bolt.Open(path, bolt.WithNoSync())
			if err != nil {
				b.Fatal(err)
			}
			exp := time.Now().Add(time.Hour).UTC()
			const batch = 50_000
			for i := 0; i < 2*n; i += batch {
				err := s.Update(ctx, func(tx revoke.Tx) error {
					for j := i; j < i+batch; j++ {
						tok := fmt.Sprint("token-", j)
						id := revoke.TokenID(tok)
						rec := revoke.Record{ID: id, Check: revoke.Checksum(tok), Kind: revoke.Access, ClientID: "client-1", Subject: "user-42", Grant: id, ExpiresAt: exp}
						if j%2 == 0 {
							rec.Seq = uint64(j/2 + 1)
						}
						if err := tx.Put(ctx, rec); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				s, err := bolt.Open(path)
				if err != nil {
					b.Fatal(err)
				}
				r, err := revoke.New(s)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if ok, _ := r.IsRevoked(ctx, "token-0"); !ok {
					b.Fatal("token-0 not revoked")
				}
				r.Close()
				b.StartTimer()
			}
		})
	}
}
