package postgres

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/store/storetest"
)

// BenchmarkWriteSerialization compares the two ways Update can be made
// serializable across processes: the advisory lock the Store takes, and
// SERIALIZABLE isolation with a retry of the transactions that lose a
// conflict. Only the write benchmarks of storetest.RunBenchmarks matter
// here.
func BenchmarkWriteSerialization(b *testing.B) {
	for _, mode := range []string{"AdvisoryLock", "Serializable"} {
		b.Run(mode, func(b *testing.B) {
			storetest.RunBenchmarks(b, func(b *testing.B) revoke.Store {
				dsn := os.Getenv("REVOKE_POSTGRES_DSN")
				prefix := "t" + strings.ToLower(rand.Text()[:10]) + "_"
				s, err := Open(context.Background(), dsn, WithTablePrefix(prefix))
				if err != nil {
					b.Fatal(err)
				}
				if mode == "Serializable" {
					s.beginSerializable = "BEGIN ISOLATION LEVEL SERIALIZABLE; SET LOCAL lock_timeout = 5000; SET LOCAL statement_timeout = 30000"
				}
				b.Cleanup(func() {
					db := sqlx.MustOpen("pgx", dsn)
					defer db.Close()
					db.MustExec(`DROP TABLE IF EXISTS ` + s.q.tokens + `, ` + s.q.meta)
				})
				return s
			})
		})
	}
}
