package postgres

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
)

// TestMigrate: tables of schema version 1 (from before Status List
// entries) and 2 (from before the owners table), made with those versions'
// statements, are brought to the current version by Open, in the default
// schema and in another: their rows, live and revoked, read with the zero
// StatusRef, new rows keep their Status, their grants are found by subject
// and client, and RevokedSince still reads the seq index alone.
func TestMigrate(t *testing.T) {
	for _, from := range []int{1, 2} {
		for _, schema := range []string{"", "revoke_migrate_" + strings.ToLower(rand.Text()[:8])} {
			name := fmt.Sprintf("FromVersion%d/DefaultSchema", from)
			if schema != "" {
				name = fmt.Sprintf("FromVersion%d/OtherSchema", from)
			}
			t.Run(name, func(t *testing.T) { testMigrate(t, from, schema) })
		}
	}
}

func testMigrate(t *testing.T, from int, schema string) {
	ctx := context.Background()
	dsn := os.Getenv("REVOKE_POSTGRES_DSN")
	prefix := "t" + strings.ToLower(rand.Text()[:10]) + "_"
	db := sqlx.MustOpen("pgx", dsn)
	defer db.Close()
	if schema == "" {
		if err := db.Get(&schema, `SELECT current_schema()`); err != nil {
			t.Fatal(err)
		}
	} else {
		db.MustExec(`CREATE SCHEMA ` + quote(schema))
		t.Cleanup(func() {
			d := sqlx.MustOpen("pgx", dsn)
			defer d.Close()
			d.MustExec(`DROP SCHEMA ` + quote(schema) + ` CASCADE`)
		})
	}
	q := newQueries(schema, prefix)
	t.Cleanup(func() {
		d := sqlx.MustOpen("pgx", dsn)
		defer d.Close()
		d.MustExec(`DROP TABLE IF EXISTS ` + q.tokens + `, ` + q.owners + `, ` + q.meta)
	})
	root, access := revoke.TokenID("v1-root"), revoke.TokenID("v1-access")
	stmts := []string{createMeta}
	for _, m := range migrations[:from] {
		stmts = append(stmts, m...)
	}
	for _, stmt := range stmts {
		db.MustExec(q.fill(stmt))
	}
	db.MustExec(q.fill(setVersion), from)
	db.MustExec(q.fill(`UPDATE {m} SET value = 9 WHERE name = 'seq'`))
	db.MustExec(q.fill(`INSERT INTO {t} (grant_id, id, check_sum, kind, client_id, subject, expires_at) VALUES ($1, $1, 7, 2, 'c1', 'alice', 9000000000000000000)`), root[:])
	db.MustExec(q.fill(`INSERT INTO {t} (grant_id, id, parent, check_sum, kind, client_id, subject, expires_at, seq) VALUES ($1, $2, $1, 8, 1, 'c1', 'alice', 9000000000000000000, 9)`), root[:], access[:])

	opts := []Option{WithTablePrefix(prefix)}
	if schema != "" {
		opts = append(opts, WithSchema(schema))
	}
	s, err := Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatalf("Open of version %d tables: %v", from, err)
	}
	defer s.Close()
	var v int
	if err := s.db.Get(&v, s.q.fill(getVersion)); err != nil || v != schemaVersion || schemaVersion != 3 {
		t.Errorf("schema version after Open = %d (%v), want %d = 3", v, err, schemaVersion)
	}
	checkMigrated(t, s, root, access)
}

// checkMigrated checks the Store over tables migrated from version 1 or 2,
// whose rows root (live) and access (revoked) have no Status: they read
// with the zero StatusRef, a new row keeps its Status, GrantsOf finds their
// grant by subject and client, and RevokedSince reads the seq index alone.
func checkMigrated(t *testing.T, s *Store, root, access revoke.ID) {
	ctx := context.Background()
	with := revoke.Record{ID: revoke.TokenID("v2-new"), Kind: revoke.Access, ClientID: "c1", Subject: "alice", Parent: root, Grant: root,
		ExpiresAt: time.Unix(0, 9000000000000000000).UTC(), Seq: 10, Status: revoke.StatusRef{List: math.MaxUint64, Index: math.MaxUint32}}
	if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{with}) }); err != nil {
		t.Fatal(err)
	}
	err := s.View(ctx, func(tx revoke.Tx) error {
		for _, id := range []revoke.ID{root, access, with.ID} {
			recs, err := tx.Get(ctx, []revoke.ID{id})
			if err != nil || len(recs) != 1 || (id == with.ID) != (recs[0].Status == with.Status) {
				t.Errorf("row %s: %+v, err %v; want the zero Status for a migrated row, %+v for the new one", id, recs, err, with.Status)
			}
		}
		for _, by := range []revoke.Owner{revoke.BySubject, revoke.ByClient} {
			key := map[revoke.Owner]string{revoke.BySubject: "alice", revoke.ByClient: "c1"}[by]
			if grants, err := tx.GrantsOf(ctx, by, key, revoke.ID{}, 10); err != nil || len(grants) != 1 || grants[0] != root {
				t.Errorf("GrantsOf(%v, %q) after migration = %x, %v; want the migrated grant", by, key, grants, err)
			}
		}
		var revs []revoke.Revocation
		err := tx.RevokedSince(ctx, 0, func(rev revoke.Revocation) error { revs = append(revs, rev); return nil })
		if err != nil || len(revs) != 2 || revs[0].ID != access || !revs[0].Status.IsZero() || revs[1].Status != with.Status {
			t.Errorf("RevokedSince after migration = %+v, %v; want the migrated revocation with the zero Status, then the new one's", revs, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var lines []string
	if _, err := tx.Exec(`SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Select(&lines, `EXPLAIN `+s.q.revokedSince, int64(0)); err != nil {
		t.Fatal(err)
	}
	if plan := strings.Join(lines, "\n"); !strings.Contains(plan, "Index Only Scan using "+s.q.prefix+"tokens_seq") {
		t.Errorf("RevokedSince after migration does not read the seq index alone:\n%s", plan)
	}
}
