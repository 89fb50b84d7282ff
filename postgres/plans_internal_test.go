package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
)

// planStore opens a Store over tables of a new prefix, which it returns,
// and drops them at the end of the test.
func planStore(t *testing.T) (*Store, string) {
	dsn := os.Getenv("REVOKE_POSTGRES_DSN")
	prefix := "t" + strings.ToLower(rand.Text()[:10]) + "_"
	s, err := Open(context.Background(), dsn, WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		db := sqlx.MustOpen("pgx", dsn)
		defer db.Close()
		db.MustExec(`DROP TABLE ` + s.q.tokens + `, ` + s.q.meta)
	})
	return s, prefix
}

// TestQueriesUseIndexes checks the plans, custom and generic, of every
// statement a transaction runs: with sequential and bitmap scans priced out,
// each must still find its rows through the index meant for it, so none
// reads a whole table, and those that stop at a limit (Grants, Scan,
// RevokedSince's order) read it in order, without a sort. RevokedSince
// reads its index alone (an index-only scan), never the table.
func TestQueriesUseIndexes(t *testing.T) {
	ctx := context.Background()
	s, prefix := planStore(t)
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	for i := range 200 {
		tok := rand.Text()
		// Some tokens without a subject, which the subject index leaves
		// out.
		client, subject := fmt.Sprintf("c%d", i%10), ""
		if i%4 != 0 {
			subject = fmt.Sprintf("user-%d", i%25)
		}
		if err := r.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Refresh, ClientID: client, Subject: subject, ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := r.Revoke(ctx, tok, client); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.db.Exec(`ANALYZE ` + s.q.tokens); err != nil {
		t.Fatal(err)
	}
	id, id2 := revoke.TokenID("x"), revoke.TokenID("y")
	var cols columns
	cols.add(&revoke.Record{ID: id, Grant: id, ExpiresAt: exp})
	for _, c := range []struct {
		name, query, index string
		args               []any
		// ordered: the rows come in the index's order, with no Sort
		// before the LIMIT, which would read every match first.
		ordered bool
		// indexOnly: the index holds every column the statement reads.
		indexOnly bool
	}{
		{"Get", s.q.get, prefix + "tokens_id", []any{id[:]}, false, false},
		{"Prefetch", s.q.getMany, prefix + "tokens_id", []any{[][]byte{id[:], id2[:]}}, false, false},
		{"Grant", s.q.grant, prefix + "tokens_pkey", []any{id[:]}, false, false},
		{"RevokedSince", s.q.revokedSince, prefix + "tokens_seq", []any{int64(3)}, true, true},
		{"Expired", s.q.expired, prefix + "tokens_expires", []any{exp.UnixNano(), 1000}, false, false},
		{"Delete", s.q.del, prefix + "tokens_id", []any{[][]byte{id[:]}}, false, false},
		{"Put", s.q.upsert, prefix + "tokens_id", cols.args(), false, false},
		{"SetSeq", s.q.setSeqs, prefix + "tokens_id", []any{[][]byte{id[:], id2[:]}, []int64{5, 5}}, false, false},
		{"SetSeqInGrant", s.q.setSeqInGrant, prefix + "tokens_pkey", []any{int64(5), id[:], [][]byte{id[:], id2[:]}}, false, false},
		{"NextSeq", s.q.nextSeq, prefix + "meta_pkey", []any{int64(0)}, false, false},
		{"RaiseSeq", s.q.raiseSeq, prefix + "meta_pkey", []any{int64(7)}, false, false},
		{"GrantsBySubject", s.q.subjectGrants, prefix + "tokens_subject", []any{"user-3", id[:], 100}, true, false},
		{"GrantsByClient", s.q.clientGrants, prefix + "tokens_client", []any{"c3", id[:], 100}, true, false},
		{"Scan", s.q.scan, prefix + "tokens_id", []any{id[:], 100}, true, false},
	} {
		probe := "probe_" + strings.ToLower(c.name)
		// The custom plan, for the arguments, and the generic plan, which
		// PostgreSQL may choose for a statement pgx has prepared: it must
		// use the partial indexes without knowing the arguments.
		for _, generic := range []bool{false, true} {
			name := c.name + "/custom"
			if generic {
				name = c.name + "/generic"
			}
			t.Run(name, func(t *testing.T) {
				tx, err := s.db.BeginTxx(ctx, nil)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback()
				// Bitmap scans read every match before the first row, as
				// a sequential scan reads every row: price both out, so
				// the plan shows what the indexes offer a large table.
				if _, err := tx.Exec(`SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off`); err != nil {
					t.Fatal(err)
				}
				explain, args := `EXPLAIN `+c.query, c.args
				if generic {
					if _, err := tx.Exec(`SET LOCAL plan_cache_mode = force_generic_plan; PREPARE ` + probe + ` AS ` + c.query); err != nil {
						t.Fatal(err)
					}
					// Prepared statements outlive the transaction.
					defer tx.Exec(`DEALLOCATE ` + probe)
					// A generic plan is the same for any arguments.
					// VERBOSE shows the parameters where they are used.
					explain = `EXPLAIN (VERBOSE) EXECUTE ` + probe + `(` + strings.TrimSuffix(strings.Repeat("NULL, ", len(c.args)), ", ") + `)`
					args = nil
				}
				var lines []string
				if err := tx.Select(&lines, explain, args...); err != nil {
					t.Fatal(err)
				}
				plan := strings.Join(lines, "\n")
				if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, c.index) {
					t.Errorf("%s does not run on index %s:\n%s", c.name, c.index, plan)
				}
				if c.indexOnly && !strings.Contains(plan, "Index Only Scan using "+c.index) {
					t.Errorf("%s does not read index %s alone:\n%s", c.name, c.index, plan)
				}
				if c.ordered && strings.Contains(plan, "Sort") {
					t.Errorf("%s sorts rather than read index %s in order:\n%s", c.name, c.index, plan)
				}
				if generic && !strings.Contains(plan, "$1") {
					t.Errorf("%s: not a generic plan:\n%s", c.name, plan)
				}
			})
		}
	}
}

// TestSetSeqOfAGrantReadsItsRange checks the plan of a cascade's SetSeq as
// PostgreSQL chooses it, with nothing priced out: the 1,001 IDs of a grant,
// in a table of 30,000 rows, are found in the grant's range of the primary
// key. (By ID alone, it reads the whole table.)
func TestSetSeqOfAGrantReadsItsRange(t *testing.T) {
	s, prefix := planStore(t)
	// 30 grants of 1,000 tokens; grant g's tokens are sha256(g*1000+i).
	if _, err := s.db.Exec(`INSERT INTO ` + s.q.tokens + ` (grant_id, id, check_sum, kind, client_id, expires_at)
		SELECT sha256(int4send(n / 1000 * 1000)), sha256(int4send(n)), 0, 1, 'c', 1
		FROM generate_series(0, 29999) AS n`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`ANALYZE ` + s.q.tokens); err != nil {
		t.Fatal(err)
	}
	var grant [][]byte
	if err := s.db.Select(&grant, `SELECT sha256(int4send(n)) FROM generate_series(5000, 5999) AS n`); err != nil {
		t.Fatal(err)
	}
	grant = append(grant, []byte("an ID of no grant, 32 bytes long"))
	var lines []string
	if err := s.db.Select(&lines, `EXPLAIN `+s.q.setSeqInGrant, int64(7), grant[0], grant); err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	if strings.Contains(plan, "Seq Scan on") || !strings.Contains(plan, prefix+"tokens_pkey") {
		t.Errorf("SetSeq of a grant of %d IDs does not read the grant's range of %stokens_pkey:\n%s", len(grant), prefix, plan)
	}
	// And it writes them.
	res, err := s.db.Exec(s.q.setSeqInGrant, int64(7), grant[0], grant)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1000 {
		t.Errorf("SetSeq of a grant updated %d rows, want 1000", n)
	}
}
