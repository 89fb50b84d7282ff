package postgres

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
)

// TestQueriesUseIndexes checks the plan of every statement a transaction
// runs: with sequential scans priced out, each must still find its rows
// through the index meant for it, so none reads a whole table.
func TestQueriesUseIndexes(t *testing.T) {
	dsn := os.Getenv("REVOKE_POSTGRES_DSN")
	ctx := context.Background()
	prefix := "t" + strings.ToLower(rand.Text()[:10]) + "_"
	s, err := Open(ctx, dsn, WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = s.Close()
		db := sqlx.MustOpen("pgx", dsn)
		defer db.Close()
		db.MustExec(`DROP TABLE ` + s.q.tokens + `, ` + s.q.meta)
	}()
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	for i := range 200 {
		tok := rand.Text()
		if err := r.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Refresh, ClientID: "c", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := r.Revoke(ctx, tok, "c"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.db.Exec(`ANALYZE ` + s.q.tokens); err != nil {
		t.Fatal(err)
	}
	id := revoke.TokenID("x")
	var cols columns
	cols.add(&revoke.Record{ID: id, Grant: id, ExpiresAt: exp})
	for _, c := range []struct {
		name, query, index string
		args               []any
	}{
		{"Get", s.q.get, prefix + "tokens_id", []any{id[:]}},
		{"Grant", s.q.grant, prefix + "tokens_pkey", []any{id[:]}},
		{"RevokedSince", s.q.revokedSince, prefix + "tokens_seq", []any{int64(3)}},
		{"Expired", s.q.expired, prefix + "tokens_expires", []any{exp.UnixNano(), 1000}},
		{"Delete", s.q.del, prefix + "tokens_id", []any{[][]byte{id[:]}}},
		{"Put", s.q.upsert, prefix + "tokens_id", cols.args()},
		{"NextSeq", s.q.nextSeq, prefix + "meta_pkey", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			tx, err := s.db.BeginTxx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.Exec(`SET LOCAL enable_seqscan = off`); err != nil {
				t.Fatal(err)
			}
			var lines []string
			if err := tx.Select(&lines, `EXPLAIN `+c.query, c.args...); err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(lines, "\n")
			if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, c.index) {
				t.Errorf("%s does not run on index %s:\n%s", c.name, c.index, plan)
			}
		})
	}
}
