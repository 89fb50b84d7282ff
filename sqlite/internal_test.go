//go:build cgo

package sqlite

import (
	"context"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

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
		byID     = "INDEX revoke_tokens_id (id=?)"
		byGrant  = "USING PRIMARY KEY (gkey=?)"
		byKey    = "INDEX revoke_grants_id (grant_id=?)"
		ownerKey = "USING PRIMARY KEY (owner=? AND key=? AND grant_id=?)"
		meta     = "USING PRIMARY KEY (name=?)"
	)
	want := map[string]struct {
		query   string
		indexes []string
	}{
		"Get":          {s.q.getQuery(8), []string{byID}},
		"Scan":         {s.q.scan, []string{"INDEX revoke_tokens_id (id>?)"}},
		"update":       {s.q.update, []string{byID}},
		"insert":       {s.q.insert, []string{byID, byKey, "SEARCH revoke_tokens", "SEARCH revoke_grants"}},
		"addOwners":    {s.q.addOwners, nil},
		"addGrant":     {s.q.addGrant, []string{byID}},
		"Delete":       {s.q.deleteQuery(8), []string{byID}},
		"left":         {s.q.left, []string{byGrant}},
		"dropGrant":    {s.q.dropGrant, []string{"USING INTEGER PRIMARY KEY (rowid=?)"}},
		"dropOwners":   {s.q.dropOwners, []string{ownerKey}},
		"keepGrant":    {s.q.keepGrant, nil},
		"RevokeGrants": {s.q.revokeQuery(8), []string{byGrant, byKey, byID}},
		"Expired":      {s.q.expired, []string{"COVERING INDEX revoke_tokens_expires (expires_at<?)"}},
		"RevokedSince": {s.q.revokedSince, []string{"COVERING INDEX revoke_tokens_seq (seq>?)"}},
		"NextSeq":      {s.q.nextSeq, []string{meta}},
		"getSeq":       {s.q.getSeq, []string{meta}},
		"raiseSeq":     {s.q.raiseSeq, []string{meta}},
		"GrantsOf":     {s.q.grantsOf, []string{"USING PRIMARY KEY (owner=? AND key=? AND grant_id>?)"}},
	}
	for name, w := range want {
		var plan []struct {
			ID, Parent, NotUsed int
			Detail              string
		}
		args := make([]any, paramCount(w.query))
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
		// A SELECT without FROM, a VALUES list and a subquery over them
		// scan the statement's own parameters, not a table.
		if strings.Contains(ownRows.ReplaceAllString(all, ""), "SCAN") || strings.Contains(all, "TEMP B-TREE") {
			t.Errorf("%s: plan %q scans", name, all)
		}
		for _, index := range w.indexes {
			if !strings.Contains(all, index) {
				t.Errorf("%s: plan %q, want a search %s", name, all, index)
			}
		}
	}
}

// ownRows matches the scans of a plan over a statement's own values.
var ownRows = regexp.MustCompile(`SCAN (CONSTANT ROW|\d+-ROW VALUES CLAUSE|\(subquery-\d+\))`)

// paramCount returns the number of parameters of query: its greatest ?N,
// or the number of its ? if it numbers none.
func paramCount(query string) int {
	n := 0
	for _, m := range regexp.MustCompile(`\?(\d+)`).FindAllStringSubmatch(query, -1) {
		i, _ := strconv.Atoi(m[1])
		n = max(n, i)
	}
	if n == 0 {
		n = strings.Count(query, "?")
	}
	return n
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
