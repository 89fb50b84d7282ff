//go:build cgo

package sqlite_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/sqlite"
)

// openFresh opens a Store in a new file of the test's temporary directory.
func openFresh(t *testing.T) revoke.Store {
	t.Helper()
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "revoke.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// newRevoker opens a Revoker over s, closed when the test ends.
func newRevoker(t *testing.T, s revoke.Store, opts ...revoke.Option) *revoke.Revoker {
	t.Helper()
	r, err := revoke.New(s, opts...)
	if err != nil {
		t.Fatalf("revoke.New: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func tok() string { return "tok-" + rand.Text() }

// issue issues a token (parent may be empty) and fails the test on error.
func issue(t *testing.T, r *revoke.Revoker, kind revoke.Kind, client, parent string) string {
	t.Helper()
	v := tok()
	err := r.Issue(context.Background(), revoke.Token{Value: v, Kind: kind, ClientID: client,
		Parent: parent, ExpiresAt: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return v
}

func isRevoked(t *testing.T, r *revoke.Revoker, v string) bool {
	t.Helper()
	ok, err := r.IsRevoked(context.Background(), v)
	if err != nil {
		t.Fatalf("IsRevoked: %v", err)
	}
	return ok
}

// stored reports whether s holds a record for the token, and whether it is
// revoked.
func stored(t *testing.T, s revoke.Store, v string) (found, revoked bool) {
	t.Helper()
	ctx := context.Background()
	err := s.View(ctx, func(tx revoke.Tx) error {
		recs, err := tx.Get(ctx, []revoke.ID{revoke.TokenID(v)})
		found = len(recs) == 1
		revoked = found && recs[0].Revoked()
		return err
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return found, revoked
}

func TestOpenRejectsForeignFiles(t *testing.T) {
	random := make([]byte, 8192)
	_, _ = rand.Read(random)
	files := map[string][]byte{
		"random bytes": random,
		"text file":    []byte(strings.Repeat("this is not a database\n", 200)),
		"short text":   []byte("hello\n"),
	}
	for name, data := range files {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "foreign.db")
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := sqlite.Open(path)
			if err == nil {
				s.Close()
				t.Fatal("Open of a foreign file succeeded")
			}
			if !errors.Is(err, sqlite.ErrNotDatabase) || !errors.Is(err, revoke.ErrCorrupt) {
				t.Errorf("Open: %v, want ErrNotDatabase, wrapping revoke.ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("Open's error %q does not name the file", err)
			}
			got, _ := os.ReadFile(path)
			if string(got) != string(data) {
				t.Error("Open changed the foreign file")
			}
		})
	}
}

// TestOpenRejectsForeignTables opens a database where tables of the
// prefix's names are the application's, not the Store's: Open fails with an
// error wrapping revoke.ErrCorrupt, and leaves them as they are.
func TestOpenRejectsForeignTables(t *testing.T) {
	for name, ddl := range map[string]string{
		"meta of other columns": `CREATE TABLE revoke_meta (k TEXT, v TEXT)`,
		"meta of text values":   `CREATE TABLE revoke_meta (name TEXT PRIMARY KEY, value TEXT); INSERT INTO revoke_meta VALUES ('schema_version', 'five')`,
		"tokens without meta":   `CREATE TABLE revoke_tokens (token TEXT)`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.db")
			db := sqlx.MustOpen("sqlite3", path)
			defer db.Close()
			db.MustExec(ddl)
			before := tablesOf(t, path)
			s, err := sqlite.Open(path)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, revoke.ErrCorrupt) {
				t.Errorf("Open over a foreign table: %v, want an error wrapping revoke.ErrCorrupt", err)
			}
			if after := tablesOf(t, path); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Errorf("tables %v became %v", before, after)
			}
		})
	}
}

// TestOtherSchemaVersionsRefused: tables of a newer schema version, and of
// the versions that predate the first release, are refused with ErrVersion,
// by Open, New and a read-only Store alike, and left as they are.
func TestOtherSchemaVersionsRefused(t *testing.T) {
	for _, v := range []int{sqlite.SchemaVersion() + 1, sqlite.SchemaVersion() - 1, 1} {
		t.Run(fmt.Sprintf("version %d", v), func(t *testing.T) { testSchemaVersionRefused(t, v) })
	}
}

func testSchemaVersionRefused(t *testing.T, v int) {
	path := filepath.Join(t.TempDir(), "revoke.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db := sqlx.MustOpen("sqlite3", path)
	defer db.Close()
	db.MustExec(`UPDATE revoke_meta SET value = ? WHERE name = 'schema_version'`, v)

	for _, opts := range [][]sqlite.Option{nil, {sqlite.WithReadOnly()}} {
		if s, err := sqlite.Open(path, opts...); !errors.Is(err, revoke.ErrVersion) {
			if err == nil {
				s.Close()
			}
			t.Fatalf("Open of schema version %d: %v, want ErrVersion", v, err)
		} else if v < sqlite.SchemaVersion() && !strings.Contains(err.Error(), "predates the first release") {
			t.Errorf("Open of schema version %d: %q does not say why it is refused", v, err)
		}
	}
	if _, err := sqlite.New(db); !errors.Is(err, revoke.ErrVersion) {
		t.Fatalf("New over schema version %d: %v, want ErrVersion", v, err)
	}
	var got int
	if err := db.Get(&got, `SELECT value FROM revoke_meta WHERE name = 'schema_version'`); err != nil || got != v {
		t.Fatalf("schema version %d became %d (%v)", v, got, err)
	}
	// Another prefix in the same database is unaffected.
	s2, err := sqlite.New(db, sqlite.WithTablePrefix("other_"))
	if err != nil {
		t.Fatalf("New with another prefix: %v", err)
	}
	s2.Close()
}

// TestReopen opens a file three times: the first Open creates the tables at
// SchemaVersion (5, which the databases created so far hold), the others
// find them.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "revoke.db")
	for i := range 3 {
		s, err := sqlite.Open(path)
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		s.Close()
	}
	db := sqlx.MustOpen("sqlite3", path)
	defer db.Close()
	var v int
	if err := db.Get(&v, `SELECT value FROM revoke_meta WHERE name = 'schema_version'`); err != nil || v != sqlite.SchemaVersion() || v != 5 {
		t.Errorf("schema version = %d (%v), want SchemaVersion() = 5", v, err)
	}
}

// TestConcurrentOpenOfFreshFile opens one new file from several Stores at
// once, as processes starting together would: the switches to WAL mode and
// the creations of the tables serialize.
func TestConcurrentOpenOfFreshFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "revoke.db")
	var wg sync.WaitGroup
	stores := make([]*sqlite.Store, 4)
	for i := range stores {
		wg.Go(func() {
			s, err := sqlite.Open(path)
			if err != nil {
				t.Errorf("Open #%d: %v", i, err)
				return
			}
			stores[i] = s
		})
	}
	wg.Wait()
	for _, s := range stores {
		if s != nil {
			s.Close()
		}
	}
}

func TestReadOnlyDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "revoke.db")

	// A database that cannot be written and lacks the tables: New fails.
	db := sqlx.MustOpen("sqlite3", "file:"+path+"?mode=rwc")
	db.MustExec(`CREATE TABLE app (x INTEGER)`)
	db.Close()
	ro := sqlx.MustOpen("sqlite3", "file:"+path+"?mode=ro")
	if _, err := sqlite.New(ro); !errors.Is(err, revoke.ErrReadOnly) {
		t.Fatalf("New over a read-only database without the tables: %v, want ErrReadOnly", err)
	}
	ro.Close()

	// With the tables in place it opens, reads, and refuses writes.
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	w := newRevoker(t, s)
	live := issue(t, w, revoke.Access, "c1", "")
	gone := issue(t, w, revoke.Access, "c1", "")
	if _, err := w.Revoke(ctx, gone, "c1"); err != nil {
		t.Fatal(err)
	}
	w.Close()

	ro = sqlx.MustOpen("sqlite3", "file:"+path+"?mode=ro")
	defer ro.Close()
	rs, err := sqlite.New(ro)
	if err != nil {
		t.Fatalf("New over a read-only database: %v", err)
	}
	r := newRevoker(t, rs)
	if !isRevoked(t, r, gone) || isRevoked(t, r, live) {
		t.Error("read-only store answers IsRevoked wrongly")
	}
	err = r.Issue(ctx, revoke.Token{Value: tok(), Kind: revoke.Access, ClientID: "c1", ExpiresAt: time.Now().Add(time.Hour)})
	if !errors.Is(err, revoke.ErrReadOnly) {
		t.Errorf("Issue on a read-only database: %v, want ErrReadOnly", err)
	}
	if _, err := r.Revoke(ctx, live, "c1"); !errors.Is(err, revoke.ErrReadOnly) {
		t.Errorf("Revoke on a read-only database: %v, want ErrReadOnly", err)
	}
}

// TestReadOnlyFile makes the file, and then its directory too, read-only by
// their permissions, which binds any user but root.
func TestReadOnlyFile(t *testing.T) {
	for _, dirToo := range []bool{false, true} {
		t.Run(fmt.Sprintf("dir read-only %v", dirToo), func(t *testing.T) { testReadOnlyFile(t, dirToo) })
	}
}

func testReadOnlyFile(t *testing.T, dirToo bool) {
	dir := t.TempDir()
	path := filepath.Join(dir, "revoke.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	if dirToo {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	}
	if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
		f.Close()
		t.Skip("the file is writable despite its permissions (running as root)")
	}
	s, err = sqlite.Open(path)
	if err == nil {
		r := newRevoker(t, s)
		err = r.Issue(context.Background(), revoke.Token{Value: tok(), Kind: revoke.Access, ClientID: "c1", ExpiresAt: time.Now().Add(time.Hour)})
		if err == nil {
			t.Fatal("a write to a read-only file succeeded")
		}
	}
	if !errors.Is(err, revoke.ErrReadOnly) {
		t.Errorf("read-only file: %v, want ErrReadOnly", err)
	}
}

func TestInvalidOptions(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct {
		path string
		opts []sqlite.Option
	}{
		"empty path":          {"", nil},
		"memory":              {":memory:", nil},
		"URI":                 {"file:x.db?mode=memory", nil},
		"prefix with a dash":  {filepath.Join(dir, "a.db"), []sqlite.Option{sqlite.WithTablePrefix("my-app_")}},
		"prefix with a quote": {filepath.Join(dir, "b.db"), []sqlite.Option{sqlite.WithTablePrefix(`x"; DROP TABLE t; --`)}},
		"long prefix":         {filepath.Join(dir, "c.db"), []sqlite.Option{sqlite.WithTablePrefix(strings.Repeat("a", 65))}},
		"negative timeout":    {filepath.Join(dir, "d.db"), []sqlite.Option{sqlite.WithBusyTimeout(-time.Second)}},
		"timeout of 30 days":  {filepath.Join(dir, "g.db"), []sqlite.Option{sqlite.WithBusyTimeout(30 * 24 * time.Hour)}},
		"unknown sync":        {filepath.Join(dir, "e.db"), []sqlite.Option{sqlite.WithSynchronous(sqlite.Synchronous(42))}},
		"nil option":          {filepath.Join(dir, "f.db"), []sqlite.Option{nil}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := sqlite.Open(c.path, c.opts...)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, revoke.ErrInvalidOption) {
				t.Errorf("Open: %v, want ErrOption", err)
			}
		})
	}
	if _, err := sqlite.New(nil); !errors.Is(err, revoke.ErrInvalidOption) {
		t.Errorf("New(nil): %v, want ErrOption", err)
	}
}

func TestPathNeedsNoEscaping(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "odd?dir #1 %41")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "revoke.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at the path given: %v", err)
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	s := openFresh(t)
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	at := issue(t, r, revoke.Access, "c1", "")
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checks := map[string]error{
		"Revoker.Close": r.Close(),
		"Revoker.Issue": r.Issue(ctx, revoke.Token{Value: tok(), Kind: revoke.Access, ClientID: "c1", ExpiresAt: time.Now().Add(time.Hour)}),
		"Store.View":    s.View(ctx, func(revoke.Tx) error { return errors.New("fn ran") }),
		"Store.Update":  s.Update(ctx, func(revoke.Tx) error { return errors.New("fn ran") }),
		"Store.Close":   s.Close(),
	}
	_, checks["Revoker.Revoke"] = r.Revoke(ctx, at, "c1")
	_, checks["Revoker.IsRevoked"] = r.IsRevoked(ctx, at)
	_, checks["Revoker.Purge"] = r.Purge(ctx)
	for name, err := range checks {
		if !errors.Is(err, revoke.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

// TestCloseWaitsForTransactions closes the Store while a transaction runs:
// Close waits for it, and it commits.
func TestCloseWaitsForTransactions(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "revoke.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	started, closed := make(chan struct{}), make(chan error)
	id := revoke.TokenID("held")
	go func() {
		<-started
		closed <- s.Close()
	}()
	err = s.Update(ctx, func(tx revoke.Tx) error {
		close(started)
		time.Sleep(50 * time.Millisecond)
		return tx.Put(ctx, []revoke.Record{{ID: id, Kind: revoke.Access, ClientID: "c1", Grant: id, ExpiresAt: time.Now().Add(time.Hour)}})
	})
	if err != nil {
		t.Fatalf("Update under way at Close: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, err = sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if found, _ := stored(t, s, "held"); !found {
		t.Error("the transaction under way at Close was lost")
	}
}

func TestCancelledContextWritesNothing(t *testing.T) {
	s := openFresh(t)
	defer s.Close()
	bg := context.Background()
	rec := func(v string) []revoke.Record {
		id := revoke.TokenID(v)
		return []revoke.Record{{ID: id, Kind: revoke.Access, ClientID: "c1", Grant: id, ExpiresAt: time.Now().Add(time.Hour)}}
	}

	// Done before Update: fn does not run.
	ctx, cancel := context.WithCancel(bg)
	cancel()
	ran := false
	err := s.Update(ctx, func(revoke.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Errorf("Update with a cancelled context: err %v, fn ran %v", err, ran)
	}
	err = s.View(ctx, func(revoke.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Errorf("View with a cancelled context: err %v, fn ran %v", err, ran)
	}

	// Cancelled while fn runs, fn ignoring it: rolled back.
	ctx, cancel = context.WithCancel(bg)
	err = s.Update(ctx, func(tx revoke.Tx) error {
		if err := tx.Put(bg, rec("first")); err != nil {
			return err
		}
		if _, err := tx.NextSeq(bg); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update cancelled mid-transaction: %v, want context.Canceled", err)
	}
	if found, _ := stored(t, s, "first"); found {
		t.Error("Update cancelled mid-transaction committed its Put")
	}

	// Cancelled while fn runs, the Tx's next call fails.
	ctx, cancel = context.WithCancel(bg)
	err = s.Update(ctx, func(tx revoke.Tx) error {
		if err := tx.Put(ctx, rec("second")); err != nil {
			return err
		}
		cancel()
		return tx.Put(ctx, rec("third"))
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Put after cancel: %v, want context.Canceled", err)
	}
	for _, v := range []string{"second", "third"} {
		if found, _ := stored(t, s, v); found {
			t.Errorf("record %q of a cancelled Update was committed", v)
		}
	}

	// The store still works, and the sequence did not move.
	err = s.Update(bg, func(tx revoke.Tx) error {
		seq, err := tx.NextSeq(bg)
		if err == nil && seq != 1 {
			err = fmt.Errorf("NextSeq = %d after rolled-back transactions, want 1", seq)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
}

func TestPanicInTransaction(t *testing.T) {
	s := openFresh(t)
	defer s.Close()
	ctx := context.Background()
	id := revoke.TokenID("panic")
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the panic of fn did not reach the caller")
			}
		}()
		_ = s.Update(ctx, func(tx revoke.Tx) error {
			if err := tx.Put(ctx, []revoke.Record{{ID: id, Kind: revoke.Access, ClientID: "c1", Grant: id, ExpiresAt: time.Now().Add(time.Hour)}}); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if found, _ := stored(t, s, "panic"); found {
		t.Error("the Put of a transaction whose fn panicked was committed")
	}
	// Every connection is usable: no transaction was left open in the pool.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := s.Update(ctx, func(tx revoke.Tx) error { _, err := tx.NextSeq(ctx); return err }); err != nil {
				t.Errorf("Update after a panic: %v", err)
			}
		})
	}
	wg.Wait()
}

func TestTxInvalidAfterTransaction(t *testing.T) {
	s := openFresh(t)
	defer s.Close()
	ctx := context.Background()
	var kept revoke.Tx
	if err := s.Update(ctx, func(tx revoke.Tx) error { kept = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := kept.Get(ctx, []revoke.ID{{}}); err == nil {
		t.Error("Get on an ended transaction succeeded")
	}
	err := s.View(ctx, func(tx revoke.Tx) error {
		_, err := tx.NextSeq(ctx)
		return err
	})
	if err == nil {
		t.Error("NextSeq in a View succeeded")
	}
}

// TestReopenPersists closes a store and opens the file again: every record
// and the sequence are there.
func TestReopenPersists(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "revoke.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	rt := issue(t, r, revoke.Refresh, "c1", "")
	at := issue(t, r, revoke.Access, "c1", rt)
	live := issue(t, r, revoke.Refresh, "c1", "")
	if n, err := r.Revoke(ctx, rt, "c1"); err != nil || n != 2 {
		t.Fatalf("Revoke = (%d, %v)", n, err)
	}
	var before []revoke.Record
	_ = s.View(ctx, func(tx revoke.Tx) error {
		before, err = tx.Get(ctx, []revoke.ID{revoke.TokenID(at)})
		return err
	})
	if len(before) != 1 {
		t.Fatalf("Get before reopening = %+v", before)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r = newRevoker(t, s)
	if !isRevoked(t, r, rt) || !isRevoked(t, r, at) || isRevoked(t, r, live) {
		t.Error("revocations not as before reopening")
	}
	err = s.Update(ctx, func(tx revoke.Tx) error {
		after, err := tx.Get(ctx, []revoke.ID{revoke.TokenID(at)})
		if err != nil {
			return err
		}
		if len(after) != 1 || after[0] != before[0] {
			return fmt.Errorf("record after reopening %+v, before %+v", after, before)
		}
		seq, err := tx.NextSeq(ctx)
		if err == nil && seq <= before[0].Seq {
			err = fmt.Errorf("NextSeq after reopening = %d, not above %d", seq, before[0].Seq)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	s := openFresh(t)
	defer s.Close()
	ctx := context.Background()
	parent, self := revoke.TokenID("p"), revoke.TokenID("s")
	recs := []revoke.Record{
		{ID: self, Check: 0xFFFFFFFF, Kind: revoke.Refresh, ClientID: "client ünïcode", Subject: "sub\x00ject",
			Parent: parent, Grant: parent, ExpiresAt: time.Unix(1_700_000_000, 123_456_789).UTC(), Seq: 1<<63 - 1},
		{ID: parent, Kind: revoke.Access, ClientID: "c", Grant: parent, ExpiresAt: time.Unix(0, 1).UTC()},
	}
	err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, recs) })
	if err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx revoke.Tx) error {
		for _, want := range recs {
			got, err := tx.Get(ctx, []revoke.ID{want.ID})
			if err != nil {
				return err
			}
			if len(got) != 1 || got[0] != want {
				t.Errorf("Get = %+v; want %+v", got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(ctx, func(tx revoke.Tx) error {
		return tx.Put(ctx, []revoke.Record{{ID: self, Seq: 1 << 63}})
	})
	if err == nil {
		t.Error("Put of a Seq beyond int64 succeeded")
	}
}

func TestCorruptRow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "revoke.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := sqlx.MustOpen("sqlite3", path)
	defer db.Close()
	id := revoke.TokenID("x")
	db.MustExec(`INSERT INTO revoke_tokens (gkey, id, check_sum, kind, client_id, subject, grant_id, expires_at)
		VALUES (1, ?, 1, 1, 'c', '', X'0102', 1)`, id[:])
	ctx := context.Background()
	err = s.View(ctx, func(tx revoke.Tx) error {
		_, err := tx.Get(ctx, []revoke.ID{id})
		return err
	})
	if !errors.Is(err, revoke.ErrCorrupt) {
		t.Errorf("Get of a malformed row: %v, want ErrCorrupt", err)
	}
}

// TestNewInApplicationDatabase puts two Stores with their own prefixes into
// an application's database beside its own tables: each keeps to its own,
// the application's user_version is left alone, and Close leaves the
// database open.
func TestNewInApplicationDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "app.db")
	db := sqlx.MustOpen("sqlite3", path+"?_journal_mode=WAL&_sync=NORMAL")
	defer db.Close()
	db.SetMaxOpenConns(1) // one connection: the pragmas the Store sets must be restored on it
	db.MustExec(`PRAGMA user_version = 42`)
	db.MustExec(`CREATE TABLE tokens (token TEXT)`) // the application's own, unprefixed
	db.MustExec(`CREATE TABLE meta (k TEXT, v TEXT)`)
	db.MustExec(`INSERT INTO tokens VALUES ('app-data')`)

	sa, err := sqlite.New(db, sqlite.WithTablePrefix("a_"), sqlite.WithBusyTimeout(1500*time.Millisecond))
	if err != nil {
		t.Fatalf("New a_: %v", err)
	}
	sb, err := sqlite.New(db, sqlite.WithTablePrefix("b_"))
	if err != nil {
		t.Fatalf("New b_: %v", err)
	}
	ra, rb := newRevoker(t, sa), newRevoker(t, sb)
	va := issue(t, ra, revoke.Access, "c1", "")
	vb := issue(t, rb, revoke.Access, "c1", "")
	if n, err := ra.Revoke(ctx, va, "c1"); err != nil || n != 1 {
		t.Fatalf("Revoke in a_ = (%d, %v)", n, err)
	}
	if found, _ := stored(t, sb, va); found {
		t.Error("a token of store a_ is in store b_")
	}
	if found, _ := stored(t, sa, vb); found {
		t.Error("a token of store b_ is in store a_")
	}
	if isRevoked(t, rb, vb) {
		t.Error("store b_'s token revoked")
	}
	// b_ sequence is its own.
	err = sb.Update(ctx, func(tx revoke.Tx) error {
		seq, err := tx.NextSeq(ctx)
		if err == nil && seq != 1 {
			err = fmt.Errorf("b_'s first NextSeq = %d, want 1", seq)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}

	if err := ra.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rb.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("the application's database is closed: %v", err)
	}
	checkApplicationDatabase(t, db)

	// Reopened over the same database, store a_ still has its revocation.
	sa, err = sqlite.New(db, sqlite.WithTablePrefix("a_"))
	if err != nil {
		t.Fatal(err)
	}
	if !isRevoked(t, newRevoker(t, sa), va) {
		t.Error("a_'s revocation lost across New")
	}
}

// checkApplicationDatabase checks that the application's settings and
// tables in db are as TestNewInApplicationDatabase set them, beside the
// tables of the Stores of prefixes a_ and b_.
func checkApplicationDatabase(t *testing.T, db *sqlx.DB) {
	t.Helper()
	for _, c := range []struct {
		query, want string
	}{
		{`PRAGMA user_version`, "42"},
		{`PRAGMA synchronous`, "1"},     // NORMAL, restored
		{`PRAGMA busy_timeout`, "5000"}, // restored
		{`SELECT token FROM tokens`, "app-data"},
		{`SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name)`,
			"a_grants a_meta a_owners a_tokens b_grants b_meta b_owners b_tokens meta tokens"},
	} {
		var got string
		if err := db.Get(&got, c.query); err != nil || got != c.want {
			t.Errorf("%s = %q (%v), want the application's %q", c.query, got, err, c.want)
		}
	}
}

// TestTwoStoresOneFile opens the file twice, as two processes would, with a
// Revoker over each: revocations through one reach the other within the
// sync interval, and concurrent writes through both lose nothing.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	open := func() *sqlite.Store {
		s, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s1, s2 := open(), open()
	if c := s1.Capabilities(); !c.Shared || c.Notify != nil || c.Clock != nil {
		t.Fatalf("Capabilities() = %+v, want Shared only", c)
	}
	const interval = 20 * time.Millisecond
	r1 := newRevoker(t, s1, revoke.WithFollow(revoke.FollowPolicy{Interval: interval}))
	r2 := newRevoker(t, s2, revoke.WithFollow(revoke.FollowPolicy{Interval: interval}))

	// Issued through one, revoked through the other, seen by the first.
	rt := issue(t, r1, revoke.Refresh, "c1", "")
	at := issue(t, r1, revoke.Access, "c1", rt)
	if n, err := r2.Revoke(ctx, rt, "c1"); err != nil || n != 2 {
		t.Fatalf("Revoke through the other store = (%d, %v), want (2, nil)", n, err)
	}
	waitRevoked(t, r1, rt, at)

	// Concurrent writers on both: every Issue that succeeded is stored,
	// every Revoke acknowledged is there, and nothing else is revoked.
	const workers, perWorker = 4, 25
	results := make([]writes, 2*workers)
	var wg sync.WaitGroup
	for w := range results {
		r, other := r1, r2
		if w%2 == 1 {
			r, other = r2, r1
		}
		wg.Go(func() { results[w] = issueAndRevoke(t, r, other, perWorker) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	revoked := map[string]bool{}
	for _, res := range results {
		for _, v := range res.revoked {
			revoked[v] = true
		}
	}
	s3 := open()
	defer s3.Close()
	checkShared(t, s3, results, revoked)
	// Each Revoker learns of the other's revocations.
	var all []string
	for v := range revoked {
		all = append(all, v)
	}
	waitRevoked(t, r1, all...)
	waitRevoked(t, r2, all...)
}

// writes are the tokens a worker of TestTwoStoresOneFile issued, and those
// it revoked.
type writes struct {
	issued, revoked []string
}

// issueAndRevoke issues n tokens through r and revokes every other one
// through other.
func issueAndRevoke(t *testing.T, r, other *revoke.Revoker, n int) writes {
	ctx := context.Background()
	var res writes
	for i := range n {
		v := tok()
		err := r.Issue(ctx, revoke.Token{Value: v, Kind: revoke.Refresh, ClientID: "c2", ExpiresAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Errorf("Issue: %v", err)
			return res
		}
		res.issued = append(res.issued, v)
		if i%2 == 1 {
			continue
		}
		if n, err := other.Revoke(ctx, v, "c2"); err != nil || n != 1 {
			t.Errorf("Revoke = (%d, %v), want (1, nil)", n, err)
			return res
		}
		res.revoked = append(res.revoked, v)
	}
	return res
}

// checkShared checks that s holds every token issued, revoked if and only
// if it is in revoked, and returns the revocations, the first two
// TestTwoStoresOneFile made included, in sequence order.
func checkShared(t *testing.T, s revoke.Store, results []writes, revoked map[string]bool) {
	t.Helper()
	for _, res := range results {
		for _, v := range res.issued {
			if found, rev := stored(t, s, v); !found || rev != revoked[v] {
				t.Errorf("an acknowledged Issue is stored %v, revoked %v; want revoked %v", found, rev, revoked[v])
			}
		}
	}
	ctx := context.Background()
	var seqs []uint64
	err := s.View(ctx, func(tx revoke.Tx) error {
		return tx.RevokedSince(ctx, 0, func(rev revoke.Revocation) error {
			seqs = append(seqs, rev.Seq)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != len(revoked)+2 {
		t.Errorf("RevokedSince(0) returned %d revocations, want %d", len(seqs), len(revoked)+2)
	}
	for i := 1; i < len(seqs); i++ {
		if seqs[i] < seqs[i-1] {
			t.Fatalf("RevokedSince out of order: %d after %d", seqs[i], seqs[i-1])
		}
	}
}

// waitRevoked polls until r reports every token revoked, or fails after a
// generous deadline.
func waitRevoked(t *testing.T, r *revoke.Revoker, toks ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, v := range toks {
		for !isRevoked(t, r, v) {
			if time.Now().After(deadline) {
				t.Fatal("a revocation committed through another store did not reach the Revoker within 10s")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// TestZeroStore checks that a Store not made by Open or New fails with an
// error instead of panicking.
func TestZeroStore(t *testing.T) {
	if _, err := revoke.New(new(sqlite.Store)); err == nil {
		t.Error("revoke.New over a zero Store succeeded")
	}
	var s sqlite.Store
	if err := s.Update(context.Background(), func(revoke.Tx) error { return nil }); err == nil {
		t.Error("Update on a zero Store succeeded")
	}
	if err := s.Close(); err == nil {
		t.Error("Close of a zero Store succeeded")
	}
}
