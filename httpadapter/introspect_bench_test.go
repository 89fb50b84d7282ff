package httpadapter_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the driver of the cleanup's connection
	"github.com/jmoiron/sqlx"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/sqlite"
)

// Shape of BenchmarkIntrospectionLatency.
const (
	introspectionCallers = 32    // concurrent callers
	introspectionTokens  = 2_000 // access tokens in the store, each looked up in turn
)

// benchStores opens the durable stores the latency benchmark runs on:
// bolt, sqlite (with cgo) and postgres (with REVOKE_POSTGRES_DSN, in tables
// of a fresh prefix dropped at the end).
var benchStores = map[string]func(b *testing.B) (revoke.Store, error){
	"bolt": func(b *testing.B) (revoke.Store, error) {
		return bolt.Open(filepath.Join(b.TempDir(), "introspect.db"))
	},
	"sqlite": func(b *testing.B) (revoke.Store, error) {
		s, err := sqlite.Open(filepath.Join(b.TempDir(), "introspect.db"))
		if errors.Is(err, sqlite.ErrNeedsCgo) {
			b.Skip("sqlite needs cgo")
		}
		return s, err
	},
	"postgres": func(b *testing.B) (revoke.Store, error) {
		dsn := os.Getenv("REVOKE_POSTGRES_DSN")
		if dsn == "" {
			b.Skip("REVOKE_POSTGRES_DSN is not set")
		}
		prefix := "intro" + strings.ToLower(rand.Text()[:10]) + "_"
		b.Cleanup(func() { dropBenchTables(b, dsn, prefix) })
		return postgres.Open(context.Background(), dsn, postgres.WithTablePrefix(prefix))
	},
}

// dropBenchTables drops the tables whose names start with prefix.
func dropBenchTables(b *testing.B, dsn, prefix string) {
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		b.Error(err)
		return
	}
	defer db.Close()
	var tables []string
	if err := db.Select(&tables, `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE starts_with(tablename, $1)`, prefix); err != nil {
		b.Error(err)
		return
	}
	for _, tb := range tables {
		if _, err := db.Exec(`DROP TABLE IF EXISTS ` + tb); err != nil {
			b.Error(err)
		}
	}
}

// BenchmarkIntrospectionLatency measures introspection requests made by 32
// concurrent callers through the handler (form parsing, HTTP Basic client
// authentication, the Lookup's store read, the JSON answer), on each
// durable store holding 2,000 live access tokens, and reports the latency
// percentiles p50-ms and p99-ms besides ns/op (the wall time per request
// across all callers). Its "floor" is the same harness over a handler that
// parses the form and answers {"active":true} without any check: the
// latency the machine itself gives 32 goroutines on its cores.
//
//	go test -run '^$' -bench IntrospectionLatency -benchtime 20000x ./httpadapter/
func BenchmarkIntrospectionLatency(b *testing.B) {
	b.Run("floor", func(b *testing.B) {
		floor := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ParseForm() != nil || r.PostForm.Get("token") == "" {
				http.Error(w, "bad form", http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"active":true}` + "\n"))
		})
		tokens := make([]string, introspectionTokens)
		for i := range tokens {
			tokens[i] = rand.Text()
		}
		benchLatency(b, floor, tokens)
	})
	for _, name := range []string{"bolt", "sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			s, err := benchStores[name](b)
			if err != nil {
				b.Fatal(err)
			}
			rev, err := revoke.New(s)
			if err != nil {
				_ = s.Close()
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = rev.Close() })
			benchLatency(b, newIntrospection(b, rev), issueBenchTokens(b, rev))
		})
	}
}

// issueBenchTokens issues introspectionTokens access tokens on rev, from
// introspectionCallers goroutines, and returns them.
func issueBenchTokens(b *testing.B, rev *revoke.Revoker) []string {
	tokens := make([]string, introspectionTokens)
	for i := range tokens {
		tokens[i] = rand.Text()
	}
	exp := time.Now().Add(24 * time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, introspectionCallers)
	for g := range introspectionCallers {
		wg.Go(func() {
			for i := g; i < len(tokens); i += introspectionCallers {
				err := rev.Issue(context.Background(), revoke.Token{Value: tokens[i], Kind: revoke.Access,
					ClientID: "app", Subject: "alice", ExpiresAt: exp})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return tokens
}

// benchLatency runs b.N introspection requests of tokens through h from
// introspectionCallers goroutines, and reports their latency percentiles.
func benchLatency(b *testing.B, h http.Handler, tokens []string) {
	bodies := make([]string, len(tokens))
	for i, tok := range tokens {
		bodies[i] = url.Values{"token": {tok}}.Encode()
	}
	var (
		mu   sync.Mutex
		all  = make([]time.Duration, 0, b.N)
		done atomic.Int64 // requests handed out
		wg   sync.WaitGroup
	)
	b.ResetTimer()
	for range introspectionCallers {
		wg.Go(func() {
			var own []time.Duration
			for {
				n := done.Add(1)
				if n > int64(b.N) {
					break
				}
				req := httptest.NewRequest(http.MethodPost, httpadapter.IntrospectionPath, strings.NewReader(bodies[n%int64(len(bodies))]))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth("rs", "rs-secret")
				rec := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(rec, req)
				own = append(own, time.Since(start))
				if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), `{"active":true`) {
					b.Errorf("introspection: %d %s", rec.Code, rec.Body)
					break
				}
			}
			mu.Lock()
			all = append(all, own...)
			mu.Unlock()
		})
	}
	wg.Wait()
	b.StopTimer()
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[int(p*float64(len(all)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
