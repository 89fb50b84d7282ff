package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
)

// These white-box tests check what the public API cannot show: the query
// plans and the pragmas in force.

// TestQueryPlans checks that every query of a transaction searches an
// index, so that cascade, purge and RevokedSince cost O(rows affected).
func TestQueryPlans(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := map[string]struct{ query, index string }{
		"Get":          {s.q.get, "PRIMARY KEY"},
		"Delete":       {s.q.del, "PRIMARY KEY"},
		"Grant":        {s.q.grant, "INDEX revoke_tokens_grant"},
		"Expired":      {s.q.expired, "INDEX revoke_tokens_expires"},
		"RevokedSince": {s.q.revokedSince, "COVERING INDEX revoke_tokens_seq"},
		"NextSeq":      {s.q.getSeq, "PRIMARY KEY"},
	}
	for name, w := range want {
		var plan []struct {
			ID, Parent, NotUsed int
			Detail              string
		}
		args := []any{1, 2}[:strings.Count(w.query, "?")]
		if err := s.db.Select(&plan, "EXPLAIN QUERY PLAN "+w.query, args...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var details []string
		for _, p := range plan {
			details = append(details, p.Detail)
		}
		all := strings.Join(details, "; ")
		if !strings.Contains(all, w.index) || strings.Contains(all, "SCAN") || strings.Contains(all, "TEMP B-TREE") {
			t.Errorf("%s: plan %q, want a search of %s", name, all, w.index)
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
