//go:build cgo

package sqlite

import (
	"context"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
)

// These white-box tests check what the public API cannot show: the query
// plans and the pragmas in force.

// TestQueryPlans checks that every query of a transaction searches an
// index, so that cascade, purge and RevokedSince cost O(rows affected).
// Each query must search all the indexes listed, and scan none.
func TestQueryPlans(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const (
		byID    = "INDEX revoke_tokens_id (id=?)"
		byGrant = "USING PRIMARY KEY (gkey=?)"
		owner   = "USING PRIMARY KEY (owner=? AND key=? AND grant_id=?)"
	)
	want := map[string]struct {
		query   string
		indexes []string
	}{
		"Get":           {s.q.get, []string{byID}},
		"locate":        {s.q.locate, []string{byID}},
		"DeleteKey":     {s.q.delKey, []string{"INDEX revoke_tokens_id (id=?)"}},
		"Grant":         {s.q.grant, []string{byGrant, "INDEX revoke_grants_id (grant_id=?)", byID}},
		"Expired":       {s.q.expired, []string{"INDEX revoke_tokens_expires (expires_at<?)"}},
		"RevokedSince":  {s.q.revokedSince, []string{"COVERING INDEX revoke_tokens_seq (seq>?)"}},
		"NextSeq":       {s.q.getSeq, []string{"USING PRIMARY KEY (name=?)"}},
		"flush":         {s.q.setSeq, []string{"USING PRIMARY KEY (name=?)"}},
		"SubjectGrants": {s.q.subjectGrants, []string{"USING PRIMARY KEY (owner=? AND key=? AND grant_id>?)"}},
		"ClientGrants":  {s.q.clientGrants, []string{"USING PRIMARY KEY (owner=? AND key=? AND grant_id>?)"}},
		"ownerAdd":      {s.q.ownerAdd, nil},
		"dropSubject":   {s.q.dropSubject, []string{owner, byGrant}},
		"dropClient":    {s.q.dropClient, []string{owner, byGrant}},
		"grantKey":      {s.q.grantKey, []string{"INDEX revoke_grants_id (grant_id=?)", byID}},
		"nextKey":       {s.q.nextKey, []string{"SEARCH revoke_tokens", "SEARCH revoke_grants"}},
		"rootKey":       {s.q.rootKey, []string{"INDEX revoke_grants_id (grant_id=?)", "SEARCH revoke_tokens", "SEARCH revoke_grants"}},
		"newGrant":      {s.q.newGrant, nil},
		"keepGrant":     {s.q.keepGrant, []string{byGrant}},
		"dropGrant":     {s.q.dropGrant, []string{"USING INTEGER PRIMARY KEY (rowid=?)", byGrant}},
		"SetSeqByKey":   {s.q.setSeqKey, []string{"USING PRIMARY KEY (gkey=? AND id=?)"}},
		"SetSeqByID":    {s.q.setSeqID, []string{byID}},
	}
	for name, w := range want {
		var plan []struct {
			ID, Parent, NotUsed int
			Detail              string
		}
		args := make([]any, strings.Count(w.query, "?"))
		for i := range args {
			args[i] = i + 1
		}
		if err := s.db.Select(&plan, "EXPLAIN QUERY PLAN "+w.query, args...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var details []string
		for _, p := range plan {
			details = append(details, p.Detail)
		}
		all := strings.Join(details, "; ")
		t.Logf("%s: %s", name, all)
		// "SCAN CONSTANT ROW" is the one row of a SELECT without FROM.
		if strings.Contains(strings.ReplaceAll(all, "SCAN CONSTANT ROW", ""), "SCAN") || strings.Contains(all, "TEMP B-TREE") {
			t.Errorf("%s: plan %q scans", name, all)
		}
		for _, index := range w.indexes {
			if !strings.Contains(all, index) {
				t.Errorf("%s: plan %q, want a search %s", name, all, index)
			}
		}
	}
}

func pragma(t *testing.T, c interface {
	GetContext(context.Context, any, string, ...any) error
}, name string) string {
	t.Helper()
	var v string
	if err := c.GetContext(context.Background(), &v, "PRAGMA "+name); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenPragmas(t *testing.T) {
	for _, c := range []struct {
		opts []Option
		sync string
		busy string
	}{
		{nil, "2", "5000"},
		{[]Option{WithSynchronous(SynchronousNormal), WithBusyTimeout(1234 * 1e6)}, "1", "1234"},
		{[]Option{WithSynchronous(SynchronousExtra)}, "3", "5000"},
	} {
		s, err := Open(filepath.Join(t.TempDir(), "p.db"), c.opts...)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		err = s.Update(ctx, func(rtx revoke.Tx) error {
			conn := rtx.(*tx).conn
			if got := pragma(t, conn, "synchronous"); got != c.sync {
				t.Errorf("synchronous = %s, want %s", got, c.sync)
			}
			if got := pragma(t, conn, "busy_timeout"); got != c.busy {
				t.Errorf("busy_timeout = %s, want %s", got, c.busy)
			}
			if got := pragma(t, conn, "journal_mode"); got != "wal" {
				t.Errorf("journal_mode = %s, want wal", got)
			}
			if got, want := pragma(t, conn, "page_size"), strconv.Itoa(pageSize); got != want {
				t.Errorf("page_size = %s, want %s", got, want)
			}
			if got, want := pragma(t, conn, "wal_autocheckpoint"), strconv.Itoa(walCheckpointBytes/pageSize); got != want {
				t.Errorf("wal_autocheckpoint = %s, want %s", got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}

// TestNewPragmas checks that New's transactions run with the Store's busy
// timeout and synchronous level, whatever the application's connections
// say, and restore them afterwards.
func TestNewPragmas(t *testing.T) {
	db := sqlx.MustOpen("sqlite3", filepath.Join(t.TempDir(), "app.db")+"?_journal_mode=WAL&_sync=OFF&_busy_timeout=10")
	defer db.Close()
	db.SetMaxOpenConns(1)
	s, err := New(db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	err = s.Update(ctx, func(rtx revoke.Tx) error {
		conn := rtx.(*tx).conn
		if got := pragma(t, conn, "synchronous"); got != "2" {
			t.Errorf("synchronous in Update = %s, want 2 (FULL)", got)
		}
		if got := pragma(t, conn, "busy_timeout"); got != "5000" {
			t.Errorf("busy_timeout in Update = %s, want 5000", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(rtx revoke.Tx) error {
		if got := pragma(t, rtx.(*tx).conn, "busy_timeout"); got != "5000" {
			t.Errorf("busy_timeout in View = %s, want 5000", got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := pragma(t, db, "synchronous"); got != "0" {
		t.Errorf("application's synchronous = %s after Update, want its 0 restored", got)
	}
	if got := pragma(t, db, "busy_timeout"); got != "10" {
		t.Errorf("application's busy_timeout = %s after Update, want its 10 restored", got)
	}
}

// TestMigrateFromVersion1: tables of schema version 1 are brought to the
// current version on Open, keeping their rows, which then carry no rotation
// state and are found by subject and client.
func TestMigrateFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sqlx.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	q := newQueries("revoke_")
	stmts := append([]string{createMeta}, migrations[0]...)
	stmts = append(stmts,
		`INSERT INTO "{p}meta" (name, value) VALUES ('schema_version', 1)`,
		`INSERT INTO "{p}tokens" (grant_id, id, check_sum, kind, client_id, subject, expires_at)
			VALUES (x'0101010101010101010101010101010101010101010101010101010101010101',
			        x'0101010101010101010101010101010101010101010101010101010101010101', 7, 2, 'c1', 'alice', 9000000000000000000)`,
	)
	for _, stmt := range stmts {
		if _, err := db.Exec(q.fill(stmt)); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open of a version 1 database: %v", err)
	}
	defer s.Close()
	var id revoke.ID
	for i := range id {
		id[i] = 1
	}
	err = s.View(context.Background(), func(tx revoke.Tx) error {
		rec, found, err := tx.Get(context.Background(), id)
		if err != nil || !found || rec.Spent() || !rec.RotatedAt.IsZero() || rec.Subject != "alice" {
			t.Errorf("migrated row: %+v, found %v, err %v", rec, found, err)
		}
		var grants []revoke.ID
		err = tx.Grants(context.Background(), revoke.BySubject, "alice", revoke.ID{}, 10, func(g revoke.ID) error {
			grants = append(grants, g)
			return nil
		})
		if err != nil || len(grants) != 1 || grants[0] != id {
			t.Errorf("Grants(alice) after migration = %x, %v", grants, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := s.db.Get(&v, q.fill(getVersion)); err != nil || v != schemaVersion || schemaVersion != 5 {
		t.Errorf("schema version after Open = %d (%v), want %d = 5", v, err, schemaVersion)
	}
}

// TestMigrateFromVersion4: tables of schema version 4, from before Status
// List entries, are brought to the current version on Open: their rows,
// live and revoked, read with the zero StatusRef (RevokedSince still from
// the seq index alone), and new rows keep their Status.
func TestMigrateFromVersion4(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v4.db")
	db, err := sqlx.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	q := newQueries("revoke_")
	stmts := []string{createMeta}
	for _, m := range migrations[:4] {
		stmts = append(stmts, m...)
	}
	stmts = append(stmts,
		`INSERT INTO "{p}meta" (name, value) VALUES ('schema_version', 4)`,
		`UPDATE "{p}meta" SET value = 9 WHERE name = 'seq'`,
		// A live refresh token and a revoked access token of its grant.
		`INSERT INTO "{p}tokens" (gkey, id, grant_id, check_sum, kind, client_id, subject, expires_at)
			VALUES (1, x'0101010101010101010101010101010101010101010101010101010101010101',
			        x'0101010101010101010101010101010101010101010101010101010101010101', 7, 2, 'c1', 'alice', 9000000000000000000)`,
		`INSERT INTO "{p}tokens" (gkey, id, grant_id, parent, check_sum, kind, client_id, subject, expires_at, seq)
			VALUES (1, x'0202020202020202020202020202020202020202020202020202020202020202',
			        x'0101010101010101010101010101010101010101010101010101010101010101',
			        x'0101010101010101010101010101010101010101010101010101010101010101', 8, 1, 'c1', 'alice', 9000000000000000000, 9)`,
	)
	for _, stmt := range stmts {
		if _, err := db.Exec(q.fill(stmt)); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open of a version 4 database: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	root, access := revoke.ID{}, revoke.ID{}
	for i := range root {
		root[i], access[i] = 1, 2
	}
	with := revoke.Record{ID: revoke.TokenID("new"), Kind: revoke.Access, ClientID: "c1", Subject: "alice", Parent: root, Grant: root,
		ExpiresAt: time.Unix(0, 9000000000000000000).UTC(), Seq: 10, Status: revoke.StatusRef{List: math.MaxUint64, Index: math.MaxUint32}}
	err = s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, with) })
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx revoke.Tx) error {
		for _, id := range []revoke.ID{root, access} {
			rec, found, err := tx.Get(ctx, id)
			if err != nil || !found || !rec.Status.IsZero() {
				t.Errorf("migrated row %x: %+v, found %v, err %v; want the zero Status", id[:1], rec, found, err)
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
	var plan []struct {
		ID, Parent, NotUsed int
		Detail              string
	}
	if err := s.db.Select(&plan, "EXPLAIN QUERY PLAN "+s.q.revokedSince, 0); err != nil {
		t.Fatal(err)
	}
	if len(plan) != 1 || !strings.Contains(plan[0].Detail, "COVERING INDEX revoke_tokens_seq") {
		t.Errorf("RevokedSince after migration: plan %+v, want the covering seq index alone", plan)
	}
}

// TestOpenKeepsPageSize opens a database that already has pages of 4 KiB,
// in WAL mode and not: Open keeps its page size (changing it would take a
// VACUUM of the whole file) and sizes the checkpoint threshold by it.
func TestOpenKeepsPageSize(t *testing.T) {
	for _, mode := range []string{"WAL", "DELETE"} {
		path := filepath.Join(t.TempDir(), "old.db")
		db := sqlx.MustOpen("sqlite3", path+"?_journal_mode="+mode)
		db.MustExec(`PRAGMA page_size = 4096`)
		db.MustExec(`CREATE TABLE app (x)`)
		db.Close()
		s, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		err = s.Update(context.Background(), func(rtx revoke.Tx) error {
			conn := rtx.(*tx).conn
			if got := pragma(t, conn, "page_size"); got != "4096" {
				t.Errorf("%s: page_size = %s, want 4096", mode, got)
			}
			if got, want := pragma(t, conn, "wal_autocheckpoint"), strconv.Itoa(walCheckpointBytes/4096); got != want {
				t.Errorf("%s: wal_autocheckpoint = %s, want %s", mode, got, want)
			}
			if got := pragma(t, conn, "journal_mode"); got != "wal" {
				t.Errorf("%s: journal_mode = %s, want wal", mode, got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
