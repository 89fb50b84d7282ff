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
		db.MustExec(`DROP TABLE ` + s.q.tokens + `, ` + s.q.owners + `, ` + s.q.meta)
	})
	return s, prefix
}

// TestQueriesUseIndexes checks the plans, custom and generic, of every
// statement a transaction runs: with sequential and bitmap scans priced out,
// each must still find its rows through the indexes meant for it, so none
// reads a whole table, and those that stop at a limit (GrantsOf, Scan,
// RevokedSince's order) read it in order, without a sort. RevokedSince
// reads its index alone (an index-only scan), never the table.
func TestQueriesUseIndexes(t *testing.T) {
	s, prefix := planStore(t)
	exp := fillPlanStore(t, s)
	id, id2 := revoke.TokenID("x"), revoke.TokenID("y")
	ids := [][]byte{id[:], id2[:]}
	args := putArgs([]revoke.Record{{ID: id, Grant: id, ExpiresAt: exp}})
	for _, c := range []planCase{
		{"GetMany", s.q.getMany, "tokens_id", []any{ids}, false, false},
		{"LockGrantsOf", s.q.lockGrantsOf, "tokens_id", []any{ids}, false, false},
		{"TryLockGrantsOf", s.q.tryLockGrantsOf, "tokens_id", []any{ids}, false, false},
		{"Put", s.q.put, "tokens_id owners_pkey meta_pkey", append(args, int64(7), []bool{false}), false, false},
		{"PutFresh", s.q.put, "owners_pkey meta_pkey", append(args, int64(7), []bool{true}), false, false},
		{"Delete", s.q.del, "tokens_id owners_pkey tokens_pkey", []any{ids}, false, false},
		{"RevokeGrants", s.q.revokeGrants, "tokens_pkey", []any{int64(5), ids}, false, false},
		{"GrantsOf", s.q.grantsOf, "owners_pkey", []any{int16(revoke.BySubject), "user-3", id[:], 100}, true, false},
		{"ReadSeq", s.q.readSeq, "meta_pkey", nil, false, false},
		{"ClaimSeq", s.q.claimSeq, "meta_pkey", []any{int64(3), int64(4)}, false, false},
		{"RevokedSince", s.q.revokedSince, "tokens_seq", []any{int64(3)}, true, true},
		{"Expired", s.q.expired, "tokens_expires", []any{exp.UnixNano(), 1000}, false, false},
		{"Scan", s.q.scan, "tokens_id", []any{id[:], 100}, true, false},
	} {
		// The custom plan, for the arguments, and the generic plan, which
		// PostgreSQL may choose for a statement pgx has prepared: it must
		// use the partial indexes without knowing the arguments.
		t.Run(c.name+"/custom", func(t *testing.T) { c.check(t, prefix, explain(t, s, c, false), false) })
		t.Run(c.name+"/generic", func(t *testing.T) { c.check(t, prefix, explain(t, s, c, true), true) })
	}
}

// fillPlanStore issues 200 tokens into s, half of them revoked, some
// without a subject, and returns their expiry.
func fillPlanStore(t *testing.T, s *Store) time.Time {
	ctx := context.Background()
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	for i := range 200 {
		tok := rand.Text()
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
	if _, err := s.db.Exec(`ANALYZE ` + s.q.tokens + `, ` + s.q.owners); err != nil {
		t.Fatal(err)
	}
	return exp
}

// planCase is a statement whose plan TestQueriesUseIndexes checks.
type planCase struct {
	// indexes are the names, less the prefix, of the indexes the
	// statement must use, the first for the rows it is about.
	name, query, indexes string
	args                 []any
	// ordered: the rows come in the index's order, with no Sort before
	// the LIMIT, which would read every match first.
	ordered bool
	// indexOnly: the index holds every column the statement reads.
	indexOnly bool
}

// explain returns the plan of c's statement, generic or for its arguments.
func explain(t *testing.T, s *Store, c planCase, generic bool) string {
	tx, err := s.db.BeginTxx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// Bitmap scans read every match before the first row, as a sequential
	// scan reads every row: price both out, so that the plan shows what
	// the indexes offer a large table.
	if _, err := tx.Exec(`SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off`); err != nil {
		t.Fatal(err)
	}
	stmt, args := `EXPLAIN `+c.query, c.args
	if generic {
		probe := "probe_" + strings.ToLower(c.name)
		if _, err := tx.Exec(`SET LOCAL plan_cache_mode = force_generic_plan; PREPARE ` + probe + ` AS ` + c.query); err != nil {
			t.Fatal(err)
		}
		// Prepared statements outlive the transaction.
		defer tx.Exec(`DEALLOCATE ` + probe)
		// A generic plan is the same for any arguments. VERBOSE shows
		// the parameters where they are used.
		stmt, args = `EXPLAIN (VERBOSE) EXECUTE `+probe, nil
		if len(c.args) > 0 {
			stmt += `(` + strings.TrimSuffix(strings.Repeat("NULL, ", len(c.args)), ", ") + `)`
		}
	}
	var lines []string
	if err := tx.Select(&lines, stmt, args...); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

// check reports what plan does that c's statement must not.
func (c planCase) check(t *testing.T, prefix, plan string, generic bool) {
	if strings.Contains(plan, "Seq Scan") {
		t.Errorf("%s reads a whole table:\n%s", c.name, plan)
	}
	for _, index := range strings.Fields(c.indexes) {
		if !strings.Contains(plan, prefix+index) {
			t.Errorf("%s does not run on index %s:\n%s", c.name, prefix+index, plan)
		}
	}
	index := prefix + strings.Fields(c.indexes)[0]
	if c.indexOnly && !strings.Contains(plan, "Index Only Scan using "+index) {
		t.Errorf("%s does not read index %s alone:\n%s", c.name, index, plan)
	}
	if c.ordered && strings.Contains(plan, "Sort") {
		t.Errorf("%s sorts rather than read index %s in order:\n%s", c.name, index, plan)
	}
	if generic && len(c.args) > 0 && !strings.Contains(plan, "$1") {
		t.Errorf("%s: not a generic plan:\n%s", c.name, plan)
	}
}

// TestRevokeGrantsReadsTheGrantsRanges checks the plan of a cascade's
// RevokeGrants as PostgreSQL chooses it, with nothing priced out: the
// grant's 1,000 records, in a table of 30,000 rows, are found in the
// grant's range of the primary key, and all of them revoked.
func TestRevokeGrantsReadsTheGrantsRanges(t *testing.T) {
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
	var grant []byte
	if err := s.db.Get(&grant, `SELECT sha256(int4send(5000))`); err != nil {
		t.Fatal(err)
	}
	grants := [][]byte{grant, []byte("an ID of no grant, 32 bytes long"), grant}
	var lines []string
	if err := s.db.Select(&lines, `EXPLAIN `+s.q.revokeGrants, int64(7), grants); err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	if strings.Contains(plan, "Seq Scan on") || !strings.Contains(plan, prefix+"tokens_pkey") {
		t.Errorf("RevokeGrants does not read the grants' ranges of %stokens_pkey:\n%s", prefix, plan)
	}
	// And it revokes them, once.
	var revoked []revRow
	if err := s.db.Select(&revoked, s.q.revokeGrants, int64(7), grants); err != nil || len(revoked) != 1000 {
		t.Errorf("RevokeGrants of a grant revoked %d rows (%v), want 1000", len(revoked), err)
	}
	if err := s.db.Select(&revoked, s.q.revokeGrants, int64(8), grants); err != nil || len(revoked) != 0 {
		t.Errorf("RevokeGrants of a revoked grant revoked %d rows (%v), want none", len(revoked), err)
	}
}
