package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// benchRecords is how many records each benchmark operation moves.
const benchRecords = 50_000

// benchStore returns a store of url's scheme in a fresh file holding the
// first n records of genRecord.
func benchStore(b *testing.B, scheme string, n int) *store {
	b.Helper()
	s, err := openStore(context.Background(), scheme+":"+filepath.Join(b.TempDir(), "s"), openOptions{create: true, lockTimeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	if n > 0 {
		now, i := time.Now(), 0
		_, err = copier{dst: s, batch: 5000, trusted: true, done: func(int) {}}.copy(context.Background(), func() (revoke.Record, error) {
			if i == n {
				return revoke.Record{}, io.EOF
			}
			rec, _ := genRecord(i, now)
			i++
			return rec, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func reportRate(b *testing.B, n int) {
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkExport: export's path, a store to JSON Lines, streaming.
func BenchmarkExport(b *testing.B) {
	for _, scheme := range []string{"bolt", "sqlite"} {
		b.Run(scheme, func(b *testing.B) {
			s := benchStore(b, scheme, benchRecords)
			b.ResetTimer()
			for range b.N {
				enc := json.NewEncoder(io.Discard)
				d := digest{h: sha256.New()}
				err := revoke.ScanAll(context.Background(), s, revoke.DefaultScanPage, func(rec revoke.Record) error {
					d.add(rec)
					return enc.Encode(toJSON(rec))
				})
				if err != nil || d.n != benchRecords {
					b.Fatalf("exported %d records: %v", d.n, err)
				}
			}
			reportRate(b, benchRecords)
		})
	}
}

// BenchmarkImport: import's path, JSON Lines into an empty store, 1000
// records per transaction, each committed durably.
func BenchmarkImport(b *testing.B) {
	var lines bytes.Buffer
	enc := json.NewEncoder(&lines)
	now := time.Now()
	for i := range benchRecords {
		rec, _ := genRecord(i, now)
		if err := enc.Encode(toJSON(rec)); err != nil {
			b.Fatal(err)
		}
	}
	for _, scheme := range []string{"bolt", "sqlite"} {
		b.Run(scheme, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				s := benchStore(b, scheme, 0)
				rr := newRecordReader(bytes.NewReader(lines.Bytes()))
				b.StartTimer()
				res, err := copier{dst: s, batch: defaultBatch, done: func(int) {}}.copy(context.Background(), rr.next)
				if err != nil || res.Written != benchRecords {
					b.Fatalf("imported %d records: %v", res.Written, err)
				}
			}
			reportRate(b, benchRecords)
		})
	}
}

// BenchmarkMigrate: migrate's copy between backends into an empty store,
// 1000 records per transaction (verification not included: it is one
// more read of each side, see BenchmarkExport).
func BenchmarkMigrate(b *testing.B) {
	for _, pair := range [][2]string{{"bolt", "sqlite"}, {"sqlite", "bolt"}, {"bolt", "bolt"}, {"sqlite", "sqlite"}} {
		b.Run(pair[0]+"-to-"+pair[1], func(b *testing.B) {
			src := benchStore(b, pair[0], benchRecords)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				dst := benchStore(b, pair[1], 0)
				b.StartTimer()
				res, err := copier{dst: dst, batch: defaultBatch, trusted: true, done: func(int) {}}.copy(context.Background(), newScanner(context.Background(), src, defaultBatch).next)
				if err != nil || res.Written != benchRecords {
					b.Fatalf("migrated %d records: %v", res.Written, err)
				}
			}
			reportRate(b, benchRecords)
		})
	}
}
