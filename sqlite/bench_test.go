//go:build cgo

package sqlite_test

import (
	"context"
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/sqlite"
	"github.com/sdkauth/revocation/store/storebench"
)

// BenchmarkStore runs the common benchmarks of package storebench.
func BenchmarkStore(b *testing.B) {
	storebench.Run(b, func(b *testing.B) revoke.Store {
		s, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"))
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

// fill puts n revoked records into s, in transactions of 50,000.
func fill(tb testing.TB, s *sqlite.Store, n int) {
	tb.Helper()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	const batch = 50_000
	for done := 0; done < n; done += batch {
		err := s.Update(ctx, func(tx revoke.Tx) error {
			for i := done; i < min(done+batch, n); i++ {
				seq, err := tx.NextSeq(ctx)
				if err != nil {
					return err
				}
				var id revoke.ID
				binary.BigEndian.PutUint64(id[:], uint64(i)+1)
				rec := revoke.Record{ID: id, Check: uint32(i), Kind: revoke.Access, ClientID: "client",
					Grant: id, ExpiresAt: exp, Seq: seq}
				if err := tx.Put(ctx, []revoke.Record{rec}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkRevokedSince streams every revocation of a store that holds a
// million, as a Revoker does at start-up.
func BenchmarkRevokedSince(b *testing.B) {
	const n = 1_000_000
	path := filepath.Join(b.TempDir(), "bench.db")
	s, err := sqlite.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	fill(b, s, n)
	b.Logf("filled %d revoked records in %v", n, time.Since(start))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		count := 0
		err := s.View(ctx, func(tx revoke.Tx) error {
			return tx.RevokedSince(ctx, 0, func(revoke.Revocation) error { count++; return nil })
		})
		if err != nil || count != n {
			b.Fatalf("RevokedSince: %d rows, err %v", count, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/row")
}

// BenchmarkCommit measures one write transaction: a Put of a new record
// and its commit, synced to disk.
func BenchmarkCommit(b *testing.B) {
	for _, mode := range []sqlite.Synchronous{sqlite.SynchronousFull, sqlite.SynchronousNormal} {
		b.Run(mode.String(), func(b *testing.B) {
			s, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"), sqlite.WithSynchronous(mode))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			exp := time.Now().Add(time.Hour)
			i := uint64(0)
			for b.Loop() {
				i++
				err := s.Update(ctx, func(tx revoke.Tx) error {
					var id revoke.ID
					binary.BigEndian.PutUint64(id[:], i)
					return tx.Put(ctx, []revoke.Record{{ID: id, Kind: revoke.Access, ClientID: "c", Grant: id, ExpiresAt: exp}})
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPut measures Put of new records inside large transactions, as a
// bulk import does: per record, without the commit, in Puts of 1,000.
func BenchmarkPut(b *testing.B) {
	s, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	i := uint64(0)
	b.ReportAllocs()
	for b.Loop() {
		recs := make([]revoke.Record, 1000)
		for j := range recs {
			i++
			var id revoke.ID
			binary.BigEndian.PutUint64(id[:], i)
			recs[j] = revoke.Record{ID: id, Kind: revoke.Access, ClientID: "c", Grant: id, ExpiresAt: exp}
		}
		err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, recs) })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/put")
}
