package mysql

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

// explainRow is a row of EXPLAIN's output.
type explainRow struct {
	Table string  `db:"table"`
	Type  *string `db:"type"`
	Key   *string `db:"key"`
	Extra *string `db:"Extra"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// TestQueriesUseIndexes runs EXPLAIN on every statement a transaction runs
// but the INSERTs, which write by key, over 3,000 records of 300 grants:
// each must find its rows through the index meant for it, none may read a
// whole table or index (type ALL or index), those that stop at a limit
// must read in order (no filesort), and RevokedSince must read its index
// alone.
func TestQueriesUseIndexes(t *testing.T) {
	ctx := context.Background()
	dsn := os.Getenv("REVOKE_MYSQL_DSN")
	prefix := "t" + strings.ToLower(rand.Text()[:10]) + "_"
	s, err := Open(ctx, dsn, WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		db := sqlx.MustOpen("mysql", dsn)
		defer db.Close()
		db.MustExec(`DROP TABLE ` + s.q.tokens + `, ` + s.q.owners + `, ` + s.q.meta)
	})
	exp := time.Now().Add(time.Hour)
	var recs []revoke.Record
	for i := range 3000 {
		id, grant := revoke.TokenID(fmt.Sprint(i)), revoke.TokenID(fmt.Sprint(i/10*10))
		subject := ""
		if i%4 != 0 {
			subject = fmt.Sprintf("user-%d", i/10%25)
		}
		recs = append(recs, revoke.Record{ID: id, Grant: grant, Kind: revoke.Access, ClientID: fmt.Sprintf("c%d", i/10%10), Subject: subject,
			ExpiresAt: exp.Add(time.Duration(i) * time.Second), Seq: uint64(i % 2 * i)})
	}
	if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, recs) }); err != nil {
		t.Fatal(err)
	}
	s.db.MustExec(`ANALYZE TABLE ` + s.q.tokens + `, ` + s.q.owners + `, ` + s.q.meta)
	id, id2 := revoke.TokenID("10"), revoke.TokenID("20")
	for _, c := range []struct {
		name, query, key string
		args             []any
		ordered, only    bool
	}{
		{"lock", s.q.lockRow, "PRIMARY", nil, false, false},
		{"Get", in(s.q.get, 2), "tokens_id", []any{id[:], id2[:]}, false, false},
		{"NextSeq", s.q.setSeq, "PRIMARY", []any{7}, false, false},
		{"Delete/grants", in(s.q.grantsOfIDs, 2), "tokens_id", []any{id[:], id2[:]}, false, false},
		{"Delete/tokens", in(s.q.del, 2), "tokens_id", []any{id[:], id2[:]}, false, false},
		{"Delete/owners", s.q.deleteOwners(2), "PRIMARY", []any{1, "user-1", id[:], 2, "c1", id[:]}, false, false},
		{"RevokeGrants/select", in(s.q.live, 2), "PRIMARY", []any{id[:], id2[:]}, false, false},
		{"RevokeGrants/update", in(s.q.revoke, 2), "PRIMARY", []any{5, id[:], id2[:]}, false, false},
		{"GrantsOf", s.q.grantsOf, "PRIMARY", []any{1, "user-3", id[:], 100}, true, false},
		{"RevokedSince", s.q.revokedSince, "tokens_seq", []any{2900}, true, true},
		{"Expired", s.q.expired, "tokens_expires", []any{exp.Add(10 * time.Second).UnixNano(), 1000}, false, false},
		{"Scan", s.q.scan, "tokens_id", []any{id[:], 100}, true, false},
	} {
		var plan []explainRow
		if err := s.db.Unsafe().Select(&plan, `EXPLAIN `+c.query, c.args...); err != nil || len(plan) == 0 {
			t.Fatalf("%s: %d rows, %v", c.name, len(plan), err)
		}
		checkPlan(t, c.name, c.key, c.ordered, c.only, plan)
	}
}

// checkPlan checks the EXPLAIN of statement name: no whole table or index
// read, key first, and, if ordered, no sort, if only, the index alone.
func checkPlan(t *testing.T, name, key string, ordered, only bool, plan []explainRow) {
	for i, p := range plan {
		desc := fmt.Sprintf("%s: table %s, type %s, key %s, extra %s", name, p.Table, str(p.Type), str(p.Key), str(p.Extra))
		t.Log(desc)
		switch extra := str(p.Extra); {
		case str(p.Type) == "ALL" || str(p.Type) == "index":
			t.Errorf("%s reads a whole table or index", desc)
		case i == 0 && str(p.Key) != key:
			t.Errorf("%s: want key %s", desc, key)
		case ordered && strings.Contains(extra, "filesort"):
			t.Errorf("%s sorts rather than read its index in order", desc)
		case only && !strings.Contains(extra, "Using index"):
			t.Errorf("%s does not read its index alone", desc)
		}
	}
}
