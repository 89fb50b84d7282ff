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

// TestCreateAndReopen: Open creates the tables at schemaVersion, in the
// default schema and in another it creates, and a second Open over them
// finds them, and their records, as they were.
func TestCreateAndReopen(t *testing.T) {
	for name, schema := range map[string]string{"DefaultSchema": "", "OtherSchema": "revoke_create_" + strings.ToLower(rand.Text()[:8])} {
		t.Run(name, func(t *testing.T) { testCreateAndReopen(t, schema) })
	}
}

func testCreateAndReopen(t *testing.T, schema string) {
	ctx := context.Background()
	dsn := os.Getenv("REVOKE_POSTGRES_DSN")
	opts := []Option{WithTablePrefix("t" + strings.ToLower(rand.Text()[:10]) + "_")}
	if schema != "" {
		opts = append(opts, WithSchema(schema))
	}
	s, err := Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	q := s.q
	t.Cleanup(func() {
		db := sqlx.MustOpen("pgx", dsn)
		defer db.Close()
		db.MustExec(`DROP TABLE IF EXISTS ` + q.tokens + `, ` + q.owners + `, ` + q.meta)
		if schema != "" {
			db.MustExec(`DROP SCHEMA IF EXISTS ` + quote(schema) + ` CASCADE`)
		}
	})
	var meta []struct {
		Name  string `db:"name"`
		Value int64  `db:"value"`
	}
	if err := s.db.Select(&meta, q.fill(`SELECT name, value FROM {m} ORDER BY name`)); err != nil || len(meta) != 2 ||
		meta[0].Name != "schema_version" || meta[0].Value != 3 || meta[1].Name != "seq" || meta[1].Value != 0 {
		t.Errorf("meta rows after create = %+v, %v; want schema_version 3 and seq 0", meta, err)
	}
	rec := revoke.Record{ID: revoke.TokenID("root"), Kind: revoke.Refresh, ClientID: "c1", Subject: "alice",
		ExpiresAt: time.Unix(0, 9e18).UTC(), Status: revoke.StatusRef{List: 1 << 63, Index: 7}}
	rec.Grant = rec.ID
	if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, dsn, opts...)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	err = s.View(ctx, func(tx revoke.Tx) error {
		recs, err := tx.Get(ctx, []revoke.ID{rec.ID})
		if err != nil || len(recs) != 1 || recs[0] != rec {
			t.Errorf("Get after reopen = %+v, %v; want %+v", recs, err, rec)
		}
		grants, err := tx.GrantsOf(ctx, revoke.BySubject, "alice", revoke.ID{}, 10)
		if err != nil || len(grants) != 1 || grants[0] != rec.Grant {
			t.Errorf("GrantsOf after reopen = %x, %v", grants, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
