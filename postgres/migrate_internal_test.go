package postgres

import (
	"context"
	"crypto/rand"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
)

// TestMigrateFromVersion1: tables of schema version 1, from before Status
// List entries, made with that version's statements, are brought to the
// current version by Open, in the default schema and in another: their
// rows, live and revoked, read with the zero StatusRef, new rows keep
// their Status, and RevokedSince still reads the seq index alone.
func TestMigrateFromVersion1(t *testing.T) {
	for _, schema := range []string{"", "revoke_migrate_" + strings.ToLower(rand.Text()[:8])} {
		name := "DefaultSchema"
		if schema != "" {
			name = "OtherSchema"
		}
		t.Run(name, func(t *testing.T) { testMigrateFromVersion1(t, schema) })
	}
}

func testMigrateFromVersion1(t *testing.T, schema string) {
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
		d.MustExec(`DROP TABLE IF EXISTS ` + q.tokens + `, ` + q.meta)
	})
	root, access := revoke.TokenID("v1-root"), revoke.TokenID("v1-access")
	stmts := append([]string{createMeta}, migrations[0]...)
	for _, stmt := range stmts {
		db.MustExec(q.fill(stmt))
	}
	db.MustExec(q.fill(setVersion), 1)
	db.MustExec(q.fill(`UPDATE {m} SET value = 9 WHERE name = 'seq'`))
	db.MustExec(q.fill(`INSERT INTO {t} (grant_id, id, check_sum, kind, client_id, subject, expires_at) VALUES ($1, $1, 7, 2, 'c1', 'alice', 9000000000000000000)`), root[:])
	db.MustExec(q.fill(`INSERT INTO {t} (grant_id, id, parent, check_sum, kind, client_id, subject, expires_at, seq) VALUES ($1, $2, $1, 8, 1, 'c1', 'alice', 9000000000000000000, 9)`), root[:], access[:])

	opts := []Option{WithTablePrefix(prefix)}
	if schema != "" {
		opts = append(opts, WithSchema(schema))
	}
	s, err := Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatalf("Open of version 1 tables: %v", err)
	}
	defer s.Close()
	var v int
	if err := s.db.Get(&v, s.q.fill(getVersion)); err != nil || v != schemaVersion || schemaVersion != 2 {
		t.Errorf("schema version after Open = %d (%v), want %d = 2", v, err, schemaVersion)
	}
	checkMigrated(t, s, root, access)
}

// checkMigrated checks the Store over tables migrated from version 1, whose
// rows root (live) and access (revoked) have no Status: they read with the
// zero StatusRef, a new row keeps its Status, and RevokedSince reads the
// seq index alone.
func checkMigrated(t *testing.T, s *Store, root, access revoke.ID) {
	ctx := context.Background()
	with := revoke.Record{ID: revoke.TokenID("v2-new"), Kind: revoke.Access, ClientID: "c1", Subject: "alice", Parent: root, Grant: root,
		ExpiresAt: time.Unix(0, 9000000000000000000).UTC(), Seq: 10, Status: revoke.StatusRef{List: math.MaxUint64, Index: math.MaxUint32}}
	if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, with) }); err != nil {
		t.Fatal(err)
	}
	err := s.View(ctx, func(tx revoke.Tx) error {
		for _, id := range []revoke.ID{root, access} {
			rec, found, err := tx.Get(ctx, id)
			if err != nil || !found || !rec.Status.IsZero() {
				t.Errorf("migrated row %s: %+v, found %v, err %v; want the zero Status", id, rec, found, err)
			}
		}
		if rec, _, err := tx.Get(ctx, with.ID); err != nil || rec.Status != with.Status {
			t.Errorf("new row: Status %+v, err %v; want %+v", rec.Status, err, with.Status)
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
