//go:build cgo

package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/sqlite"
)

// These tests check the layout of the tokens table, keyed by the key of the
// grant and the ID, and of the grants and owners tables that follow it.

// count returns the result of the counting query q over the database at
// path, and fails the test if the database's integrity check finds
// anything wrong.
func count(t *testing.T, path, q string, args ...any) int {
	t.Helper()
	db := sqlx.MustOpen("sqlite3", path)
	defer db.Close()
	var n int
	if err := db.Get(&n, q, args...); err != nil {
		t.Fatal(err)
	}
	var check string
	if err := db.Get(&check, `PRAGMA integrity_check`); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	return n
}

// rowsOf counts the rows stored for id, whatever their key.
func rowsOf(t *testing.T, path string, id revoke.ID) int {
	t.Helper()
	return count(t, path, `SELECT count(*) FROM revoke_tokens NOT INDEXED WHERE id = ?`, id[:])
}

// errRollBack makes an Update roll back.
var errRollBack = errors.New("roll back")

// grantOf returns the members of grant g, found by revoking it in a
// transaction that rolls back.
func grantOf(t *testing.T, s revoke.Store, g revoke.ID) map[revoke.ID]bool {
	t.Helper()
	ctx := context.Background()
	got := map[revoke.ID]bool{}
	err := s.Update(ctx, func(tx revoke.Tx) error {
		seq, err := tx.NextSeq(ctx)
		if err != nil {
			return err
		}
		revs, err := tx.RevokeGrants(ctx, seq, []revoke.ID{g, g})
		for _, rev := range revs {
			if got[rev.ID] || rev.Seq != seq {
				return fmt.Errorf("RevokeGrants returned %+v twice or at another Seq than %d", rev, seq)
			}
			got[rev.ID] = true
		}
		if err != nil {
			return err
		}
		return errRollBack
	})
	if !errors.Is(err, errRollBack) {
		t.Fatal(err)
	}
	return got
}

// TestPutReplaces puts a record, then the same ID in every other shape
// of its grant (another expiry, revoked, every column changed), in the
// same transaction or the next: Get, the table and Expired hold the last
// record only.
func TestPutReplaces(t *testing.T) {
	x, a := revoke.TokenID("x"), revoke.TokenID("a")
	exp := time.Unix(1_900_000_000, 0).UTC()
	shapes := map[string]revoke.Record{
		"live":    {ID: x, Kind: revoke.Access, ClientID: "c", Parent: a, Grant: a, ExpiresAt: exp},
		"later":   {ID: x, Kind: revoke.Access, ClientID: "c", Parent: a, Grant: a, ExpiresAt: exp.Add(time.Hour), Seq: 7},
		"revoked": {ID: x, Kind: revoke.Access, ClientID: "c", Parent: a, Grant: a, ExpiresAt: exp, Seq: 9},
		"other": {ID: x, Check: 9, Kind: revoke.Refresh, ClientID: "c", Parent: a, Grant: a, ExpiresAt: exp.Add(-time.Hour),
			Successor: a, RotatedAt: exp, Retries: 2, Superseded: true, Status: revoke.StatusRef{List: 3, Index: 4}},
	}
	for fromName, from := range shapes {
		for toName, to := range shapes {
			for _, sameTx := range []bool{false, true} {
				t.Run(fmt.Sprintf("%sTo%s/sameTx=%v", fromName, toName, sameTx), func(t *testing.T) {
					testPutReplaces(t, from, to, sameTx)
				})
			}
		}
	}
}

// testPutReplaces puts from, then to (in the same transaction if sameTx),
// and checks that the store holds to only.
func testPutReplaces(t *testing.T, from, to revoke.Record, sameTx bool) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "revoke.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	puts := [][]revoke.Record{{from}, {to}}
	if sameTx {
		puts = [][]revoke.Record{{from}}
	}
	for i, recs := range puts {
		err := s.Update(ctx, func(tx revoke.Tx) error {
			if err := tx.Put(ctx, recs); err != nil || !sameTx {
				return err
			}
			return tx.Put(ctx, []revoke.Record{to})
		})
		if err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
	}
	err = s.View(ctx, func(tx revoke.Tx) error {
		got, err := tx.Get(ctx, []revoke.ID{to.ID, to.ID})
		if err != nil || len(got) != 1 || got[0] != to {
			t.Errorf("Get = %+v, %v; want %+v", got, err, to)
		}
		expired, err := tx.Expired(ctx, to.ExpiresAt.Add(3*time.Hour), 10)
		if err != nil || len(expired) != 1 || expired[0] != to.ID {
			t.Errorf("Expired = %x, %v; want the ID once", expired, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := rowsOf(t, path, to.ID); n != 1 {
		t.Errorf("%d rows for the ID, want 1", n)
	}
	if members := grantOf(t, s, to.Grant); len(members) != 1-min(1, int(to.Seq)) {
		t.Errorf("live members of the grant = %v, want the ID if live", members)
	}
}

// TestDeleteEitherShape deletes the first token of a grant and another
// member, with an absent ID and duplicates, and with and without reading
// them first: the grant keeps its third member under its key.
func TestDeleteEitherShape(t *testing.T) {
	for _, read := range []bool{false, true} {
		t.Run(fmt.Sprintf("read=%v", read), func(t *testing.T) { testDeleteEitherShape(t, read) })
	}
}

func testDeleteEitherShape(t *testing.T, read bool) {
	ctx := context.Background()
	exp := time.Unix(1_900_000_000, 0).UTC()
	path := filepath.Join(t.TempDir(), "revoke.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	root, member, other, late := revoke.TokenID("root"), revoke.TokenID("member"), revoke.TokenID("other"), revoke.TokenID("late")
	recs := []revoke.Record{
		{ID: root, Kind: revoke.Refresh, ClientID: "c", Grant: root, ExpiresAt: exp},
		{ID: member, Kind: revoke.Access, ClientID: "c", Parent: root, Grant: root, ExpiresAt: exp},
		{ID: other, Kind: revoke.Access, ClientID: "c", Parent: root, Grant: root, ExpiresAt: exp},
	}
	if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, recs) }); err != nil {
		t.Fatal(err)
	}
	gone := []revoke.ID{root, member, revoke.TokenID("absent"), member}
	err = s.Update(ctx, func(tx revoke.Tx) error {
		if read {
			if _, err := tx.Get(ctx, gone); err != nil {
				return err
			}
		}
		if err := tx.Delete(ctx, gone); err != nil {
			return err
		}
		if got, err := tx.Get(ctx, gone); err != nil || len(got) != 0 {
			return fmt.Errorf("Get after Delete = %+v, %v", got, err)
		}
		// A member put after its grant's first token went joins it.
		return tx.Put(ctx, []revoke.Record{{ID: late, Kind: revoke.Access, ClientID: "c", Parent: other, Grant: root, ExpiresAt: exp}})
	})
	if err != nil {
		t.Fatal(err)
	}
	if members := grantOf(t, s, root); len(members) != 2 || !members[other] || !members[late] {
		t.Errorf("grant after Delete = %v, want other and late", members)
	}
	if n := rowsOf(t, path, root) + rowsOf(t, path, member); n != 0 {
		t.Errorf("%d rows after Delete", n)
	}
	if n := count(t, path, `SELECT count(DISTINCT gkey) FROM revoke_tokens`); n != 1 {
		t.Errorf("the grant's tokens have %d keys, want 1", n)
	}
}

// TestGrantRows follows the rows of a grant in the grants and owners
// tables: a grant imported without its first token gets a grants row and
// its owners rows with its first record, its first token put later takes
// its key, and the last Delete of the grant's records removes them all.
func TestGrantRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "revoke.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	exp := time.Unix(1_900_000_000, 0).UTC()
	g, a, b := revoke.TokenID("g"), revoke.TokenID("a"), revoke.TokenID("b")
	rec := func(id revoke.ID) revoke.Record {
		r := revoke.Record{ID: id, Kind: revoke.Access, ClientID: "c", Subject: "alice", Parent: g, Grant: g, ExpiresAt: exp}
		if id == g {
			r.Kind, r.Parent = revoke.Refresh, revoke.ID{}
		}
		return r
	}
	put := func(ids ...revoke.ID) {
		t.Helper()
		err := s.Update(ctx, func(tx revoke.Tx) error {
			for _, id := range ids {
				if err := tx.Put(ctx, []revoke.Record{rec(id)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	del := func(ids ...revoke.ID) {
		t.Helper()
		if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Delete(ctx, ids) }); err != nil {
			t.Fatal(err)
		}
	}
	want := func(step string, grants, owners, keys int) {
		t.Helper()
		if n := count(t, path, `SELECT count(*) FROM revoke_grants`); n != grants {
			t.Errorf("%s: %d grants rows, want %d", step, n, grants)
		}
		if n := count(t, path, `SELECT count(*) FROM revoke_owners`); n != owners {
			t.Errorf("%s: %d owners rows, want %d", step, n, owners)
		}
		if n := count(t, path, `SELECT count(DISTINCT gkey) FROM revoke_tokens`); n != keys {
			t.Errorf("%s: %d keys, want %d", step, n, keys)
		}
	}
	put(a)
	want("a member imported alone", 1, 2, 1)
	put(b, g)
	want("the first token put after", 1, 2, 1)
	del(a, b)
	want("members deleted", 1, 2, 1)
	del(g)
	want("the last token deleted", 0, 0, 0)
	put(g, a)
	want("a grant started by its first token", 0, 2, 1)
	del(g)
	want("the first token deleted", 1, 2, 1)
	if members := grantOf(t, s, g); len(members) != 1 || !members[a] {
		t.Errorf("grant without its first token = %v, want a", members)
	}
	del(a, a)
	want("the grant emptied", 0, 0, 0)
}

// TestRevokeGrantPages counts the pages the commit of a cascade writes to
// the WAL. The store holds 20 grants of 1,001 tokens, issued in turn, so
// that a grant's entries are spread over the expiry index as they are in
// service; revoking one grant should write its rows and their entries in
// the seq index, contiguous both, and leave the expiry index alone.
func TestRevokeGrantPages(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a store of 20,020 tokens")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "revoke.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	const grants, members = 20, 1000
	roots := make([]string, grants)
	start := time.Now().Add(time.Hour)
	var recs []revoke.Record
	for g := range roots {
		roots[g] = tok()
		id := revoke.TokenID(roots[g])
		recs = append(recs, revoke.Record{ID: id, Check: revoke.Checksum(roots[g]), Kind: revoke.Refresh,
			ClientID: "c", Grant: id, ExpiresAt: start.Add(24 * time.Hour)})
	}
	for i := range members {
		for g := range roots {
			v := tok()
			root := revoke.TokenID(roots[g])
			recs = append(recs, revoke.Record{ID: revoke.TokenID(v), Check: revoke.Checksum(v), Kind: revoke.Access,
				ClientID: "c", Parent: root, Grant: root,
				ExpiresAt: start.Add(time.Duration(i*grants+g) * time.Second)})
		}
	}
	err = s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, recs) })
	if err != nil {
		t.Fatal(err)
	}
	r := newRevoker(t, s, revoke.WithFollow(revoke.FollowPolicy{Interval: 0}))
	db := sqlx.MustOpen("sqlite3", path)
	defer db.Close()
	db.MustExec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() != 0 {
		t.Fatalf("WAL after a truncating checkpoint: %v, %v", fi, err)
	}
	if n, err := r.Revoke(ctx, roots[grants/2], "c"); err != nil || n != members+1 {
		t.Fatalf("Revoke = %d, %v; want %d", n, err, members+1)
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	var pageSize int64
	if err := db.Get(&pageSize, `PRAGMA page_size`); err != nil {
		t.Fatal(err)
	}
	frames := (fi.Size() - 32) / (pageSize + 24)
	t.Logf("revoking a grant of %d tokens wrote %d pages of %d bytes", members+1, frames, pageSize)
	// About 40 leaves of rows and 25 of the seq index, with their parents,
	// at 4 KiB pages: at most 600 KiB whatever the page size. Rows spread
	// over the table would take a leaf each.
	if frames*pageSize > 150*4096 {
		t.Errorf("revoking a grant of %d tokens wrote %d pages of %d bytes, want at most 600 KiB", members+1, frames, pageSize)
	}
}
