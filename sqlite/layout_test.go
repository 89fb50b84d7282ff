//go:build cgo

package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/sqlite"
)

// These tests check the layout of the tokens table, keyed by (grant_id, id):
// a record that changes grant changes key, and must still be stored once.

// rowsOf counts the rows stored for id, whatever their grant, and fails the
// test if the database's integrity check finds anything wrong.
func rowsOf(t *testing.T, path string, id revoke.ID) int {
	t.Helper()
	db := sqlx.MustOpen("sqlite3", path)
	defer db.Close()
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM revoke_tokens NOT INDEXED WHERE id = ?`, id[:]); err != nil {
		t.Fatal(err)
	}
	var check string
	if err := db.Get(&check, `PRAGMA integrity_check`); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	return n
}

// grantOf returns the IDs of the members of grant g.
func grantOf(t *testing.T, s revoke.Store, g revoke.ID) map[revoke.ID]revoke.Record {
	t.Helper()
	ctx := context.Background()
	got := map[revoke.ID]revoke.Record{}
	err := s.View(ctx, func(tx revoke.Tx) error {
		return tx.Grant(ctx, g, func(rec revoke.Record) error {
			if _, dup := got[rec.ID]; dup {
				return fmt.Errorf("Grant returned %v twice", rec.ID)
			}
			got[rec.ID] = rec
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestPutChangesGrant puts a record, then the same ID in every other shape
// (the first token of its own grant, or a member of one grant or another,
// with one expiry or another),
// with and without reading it first, in the same transaction or the next:
// Get, Grant and the table hold the last record only.
func TestPutChangesGrant(t *testing.T) {
	x, a, b := revoke.TokenID("x"), revoke.TokenID("a"), revoke.TokenID("b")
	exp := time.Unix(1_900_000_000, 0).UTC()
	shapes := map[string]revoke.Record{
		"root": {ID: x, Kind: revoke.Refresh, ClientID: "c", Grant: x, ExpiresAt: exp},
		"inA":  {ID: x, Kind: revoke.Access, ClientID: "c", Parent: a, Grant: a, ExpiresAt: exp},
		"inB":  {ID: x, Kind: revoke.Access, ClientID: "c", Parent: b, Grant: b, ExpiresAt: exp.Add(time.Hour), Seq: 7},
		// inB with another expiry, and every other column changed.
		"inB2": {ID: x, Check: 9, Kind: revoke.Refresh, ClientID: "d", Subject: "s", Parent: a, Grant: b, ExpiresAt: exp.Add(-time.Hour)},
	}
	grants := []revoke.ID{x, a, b}
	ctx := context.Background()
	for fromName, from := range shapes {
		for toName, to := range shapes {
			for _, mode := range []string{"blind", "read", "sameTx"} {
				t.Run(fromName+"To"+toName+"/"+mode, func(t *testing.T) {
					path := filepath.Join(t.TempDir(), "revoke.db")
					s, err := sqlite.Open(path)
					if err != nil {
						t.Fatal(err)
					}
					defer s.Close()
					err = s.Update(ctx, func(tx revoke.Tx) error {
						if err := tx.Put(ctx, from); err != nil {
							return err
						}
						if mode == "sameTx" {
							return tx.Put(ctx, to)
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
					if mode != "sameTx" {
						err = s.Update(ctx, func(tx revoke.Tx) error {
							if mode == "read" {
								if _, found, err := tx.Get(ctx, x); err != nil || !found {
									return fmt.Errorf("Get = %v, %v", found, err)
								}
							}
							return tx.Put(ctx, to)
						})
						if err != nil {
							t.Fatal(err)
						}
					}
					err = s.View(ctx, func(tx revoke.Tx) error {
						got, found, err := tx.Get(ctx, x)
						if err != nil || !found || got != to {
							t.Errorf("Get = %+v, %v, %v; want %+v", got, found, err, to)
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
					for _, g := range grants {
						members := grantOf(t, s, g)
						if _, in := members[x]; in != (g == to.Grant) || len(members) > 1 {
							t.Errorf("Grant(%v) = %v, want x only in grant %v", g, members, to.Grant)
						}
					}
					if n := rowsOf(t, path, x); n != 1 {
						t.Errorf("%d rows for the ID, want 1", n)
					}
					// Expired sees the last expiry only.
					var expired []revoke.Record
					err = s.View(ctx, func(tx revoke.Tx) error {
						return tx.Expired(ctx, exp.Add(2*time.Hour), 10, func(rec revoke.Record) error {
							expired = append(expired, rec)
							return nil
						})
					})
					if err != nil || len(expired) != 1 || expired[0] != to {
						t.Errorf("Expired = %+v, %v; want the last record", expired, err)
					}
				})
			}
		}
	}
}

// TestDeleteEitherShape deletes the first token of a grant and another
// member, with and without reading them first.
func TestDeleteEitherShape(t *testing.T) {
	ctx := context.Background()
	exp := time.Unix(1_900_000_000, 0).UTC()
	for _, read := range []bool{false, true} {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("revoke-%v.db", read))
		s, err := sqlite.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		root, member, other := revoke.TokenID("root"), revoke.TokenID("member"), revoke.TokenID("other")
		recs := []revoke.Record{
			{ID: root, Kind: revoke.Refresh, ClientID: "c", Grant: root, ExpiresAt: exp},
			{ID: member, Kind: revoke.Access, ClientID: "c", Parent: root, Grant: root, ExpiresAt: exp},
			{ID: other, Kind: revoke.Access, ClientID: "c", Parent: root, Grant: root, ExpiresAt: exp},
		}
		err = s.Update(ctx, func(tx revoke.Tx) error {
			for _, rec := range recs {
				if err := tx.Put(ctx, rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Update(ctx, func(tx revoke.Tx) error {
			for _, id := range []revoke.ID{root, member, revoke.TokenID("absent")} {
				if read {
					if _, _, err := tx.Get(ctx, id); err != nil {
						return err
					}
				}
				if err := tx.Delete(ctx, id); err != nil {
					return err
				}
				if _, found, err := tx.Get(ctx, id); err != nil || found {
					return fmt.Errorf("Get after Delete = %v, %v", found, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if members := grantOf(t, s, root); len(members) != 1 || members[other].ID != other {
			t.Errorf("read %v: grant after Delete = %v, want the other member only", read, members)
		}
		for _, id := range []revoke.ID{root, member} {
			if n := rowsOf(t, path, id); n != 0 {
				t.Errorf("read %v: %d rows after Delete", read, n)
			}
		}
		s.Close()
	}
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
	err = s.Update(ctx, func(tx revoke.Tx) error {
		for g := range roots {
			roots[g] = tok()
			id := revoke.TokenID(roots[g])
			if err := tx.Put(ctx, revoke.Record{ID: id, Check: revoke.Checksum(roots[g]), Kind: revoke.Refresh,
				ClientID: "c", Grant: id, ExpiresAt: start.Add(24 * time.Hour)}); err != nil {
				return err
			}
		}
		for i := range members {
			for g := range roots {
				v := tok()
				root := revoke.TokenID(roots[g])
				if err := tx.Put(ctx, revoke.Record{ID: revoke.TokenID(v), Check: revoke.Checksum(v), Kind: revoke.Access,
					ClientID: "c", Parent: root, Grant: root,
					ExpiresAt: start.Add(time.Duration(i*grants+g) * time.Second)}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r := newRevoker(t, s, revoke.WithSyncInterval(0))
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
