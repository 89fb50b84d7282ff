package bolt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/revoke"
	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

func tempPath(t *testing.T) string { return filepath.Join(t.TempDir(), "revocation.db") }

func mustOpen(t *testing.T, path string, opts ...bolt.Option) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func update(t *testing.T, s revoke.Store, fn func(revoke.Tx) error) {
	t.Helper()
	if err := s.Update(ctx, fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// get reads the record id.
func get(t *testing.T, s revoke.Store, id revoke.ID) (revoke.Record, bool) {
	t.Helper()
	var (
		rec   revoke.Record
		found bool
	)
	err := s.View(ctx, func(tx revoke.Tx) error {
		var err error
		rec, found, err = tx.Get(ctx, id)
		return err
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return rec, found
}

// newRecord returns a live record of a token starting its own grant.
func newRecord(name string, exp time.Time) revoke.Record {
	id := revoke.TokenID(name)
	return revoke.Record{ID: id, Check: revoke.Checksum(name), Kind: revoke.Refresh, ClientID: "c", Grant: id, ExpiresAt: exp.Round(0).UTC()}
}

// indexes returns what the store's indexes hold: the members of grant, the
// IDs of records expired before t, and the revocations.
func indexes(t *testing.T, s revoke.Store, grant revoke.ID, before time.Time) (members, expired []revoke.ID, revs []revoke.Revocation) {
	t.Helper()
	err := s.View(ctx, func(tx revoke.Tx) error {
		if err := tx.Grant(ctx, grant, func(r revoke.Record) error { members = append(members, r.ID); return nil }); err != nil {
			return err
		}
		if err := tx.Expired(ctx, before, math.MaxInt, func(r revoke.Record) error { expired = append(expired, r.ID); return nil }); err != nil {
			return err
		}
		return tx.RevokedSince(ctx, 0, func(r revoke.Revocation) error { revs = append(revs, r); return nil })
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return members, expired, revs
}

func TestClosed(t *testing.T) {
	path := tempPath(t)
	s := mustOpen(t, path)
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	if err := r.Issue(ctx, revoke.Token{Value: "rt", Kind: revoke.Refresh, ClientID: "c", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	errs := map[string]error{
		"Revoker.Close": r.Close(),
		"Revoker.Issue": r.Issue(ctx, revoke.Token{Value: "at", Kind: revoke.Access, ClientID: "c", ExpiresAt: exp}),
		"Store.View":    s.View(ctx, func(revoke.Tx) error { t.Error("View ran fn after Close"); return nil }),
		"Store.Update":  s.Update(ctx, func(revoke.Tx) error { t.Error("Update ran fn after Close"); return nil }),
		"Store.Close":   s.Close(),
	}
	_, errs["Revoker.Revoke"] = r.Revoke(ctx, "rt", "c")
	_, errs["Revoker.IsRevoked"] = r.IsRevoked(ctx, "rt")
	_, errs["Revoker.Purge"] = r.Purge(ctx)
	for name, err := range errs {
		if !errors.Is(err, revoke.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	for _, name := range []string{"Store.View", "Store.Update", "Store.Close"} {
		if !strings.HasPrefix(errs[name].Error(), "bolt: ") {
			t.Errorf("%s: error %q lacks the \"bolt: \" prefix", name, errs[name])
		}
	}
	// Closed means the file is free again.
	mustOpen(t, path, bolt.WithTimeout(0)).Close()
}

// TestCloseRacesTransactions closes a store while goroutines run View and
// Update: each call either runs or returns ErrClosed, and Close waits for
// those under way.
func TestCloseRacesTransactions(t *testing.T) {
	s := mustOpen(t, tempPath(t), bolt.WithNoSync())
	var (
		wg      sync.WaitGroup
		started = make(chan struct{})
		once    sync.Once
	)
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				var err error
				if w%2 == 0 {
					err = s.View(ctx, func(tx revoke.Tx) error {
						_, _, err := tx.Get(ctx, revoke.TokenID("x"))
						return err
					})
				} else {
					err = s.Update(ctx, func(tx revoke.Tx) error {
						return tx.Put(ctx, newRecord(fmt.Sprint(w, "-", i), time.Now().Add(time.Hour)))
					})
				}
				if i == 10 {
					once.Do(func() { close(started) })
				}
				if errors.Is(err, revoke.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
			}
		})
	}
	<-started
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
}

func TestCancelledContext(t *testing.T) {
	s := mustOpen(t, tempPath(t))
	defer s.Close()
	rec := newRecord("tok", time.Now().Add(time.Hour))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	expired, cancel2 := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel2()

	for name, c := range map[string]struct {
		ctx  context.Context
		want error
	}{"Cancelled": {cancelled, context.Canceled}, "Expired": {expired, context.DeadlineExceeded}} {
		err := s.Update(c.ctx, func(tx revoke.Tx) error {
			t.Errorf("%s: Update ran fn", name)
			return tx.Put(ctx, rec)
		})
		if !errors.Is(err, c.want) {
			t.Errorf("%s: Update: %v, want %v", name, err, c.want)
		}
		if err := s.View(c.ctx, func(revoke.Tx) error { t.Errorf("%s: View ran fn", name); return nil }); !errors.Is(err, c.want) {
			t.Errorf("%s: View: %v, want %v", name, err, c.want)
		}
	}
	// Cancelled while fn runs: nothing is committed.
	during, cancel3 := context.WithCancel(ctx)
	err := s.Update(during, func(tx revoke.Tx) error {
		if err := tx.Put(during, rec); err != nil {
			return err
		}
		cancel3()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update cancelled during fn: %v, want context.Canceled", err)
	}
	if _, found := get(t, s, rec.ID); found {
		t.Error("a cancelled Update wrote its record")
	}
}

// TestIterationsCheckContext: the iterations notice a cancelled context
// within a few hundred items.
func TestIterationsCheckContext(t *testing.T) {
	s := mustOpen(t, tempPath(t), bolt.WithNoSync())
	defer s.Close()
	const n = 2000
	grant := revoke.TokenID("grant")
	past := time.Now().Add(-time.Hour)
	update(t, s, func(tx revoke.Tx) error {
		for i := range n {
			rec := newRecord(fmt.Sprint("tok-", i), past)
			rec.Grant, rec.Seq = grant, uint64(i+1)
			if err := tx.Put(ctx, rec); err != nil {
				return err
			}
		}
		return nil
	})
	iterations := map[string]func(context.Context, revoke.Tx, func()) error{
		"Grant": func(c context.Context, tx revoke.Tx, f func()) error {
			return tx.Grant(c, grant, func(revoke.Record) error { f(); return nil })
		},
		"RevokedSince": func(c context.Context, tx revoke.Tx, f func()) error {
			return tx.RevokedSince(c, 0, func(revoke.Revocation) error { f(); return nil })
		},
		"Expired": func(c context.Context, tx revoke.Tx, f func()) error {
			return tx.Expired(c, time.Now(), n, func(revoke.Record) error { f(); return nil })
		},
	}
	for name, iter := range iterations {
		c, cancel := context.WithCancel(ctx)
		seen := 0
		err := s.View(ctx, func(tx revoke.Tx) error {
			return iter(c, tx, func() {
				if seen++; seen == 1 {
					cancel()
				}
			})
		})
		if !errors.Is(err, context.Canceled) || seen > 1000 {
			t.Errorf("%s with its context cancelled at the first item: %v after %d items, want context.Canceled within 1000", name, err, seen)
		}
		// Uncancelled, it visits every item.
		seen = 0
		if err := s.View(ctx, func(tx revoke.Tx) error { return iter(ctx, tx, func() { seen++ }) }); err != nil || seen != n {
			t.Errorf("%s: %d items, %v; want %d", name, seen, err, n)
		}
	}
}

func TestReopenPersists(t *testing.T) {
	path := tempPath(t)
	s := mustOpen(t, path)
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	for _, tok := range []revoke.Token{
		{Value: "rt", Kind: revoke.Refresh, ClientID: "c", Subject: "alice", ExpiresAt: exp},
		{Value: "at", Kind: revoke.Access, ClientID: "c", Subject: "alice", Parent: "rt", ExpiresAt: exp},
		{Value: "other", Kind: revoke.Refresh, ClientID: "c", ExpiresAt: exp},
	} {
		if err := r.Issue(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := r.Revoke(ctx, "rt", "c"); err != nil || n != 2 {
		t.Fatalf("Revoke = %d, %v", n, err)
	}
	var lastSeq uint64
	update(t, s, func(tx revoke.Tx) error { lastSeq, err = tx.NextSeq(ctx); return err })
	before, _ := get(t, s, revoke.TokenID("at"))
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, path)
	r, err = revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for tok, want := range map[string]bool{"rt": true, "at": true, "other": false} {
		if got, err := r.IsRevoked(ctx, tok); err != nil || got != want {
			t.Errorf("IsRevoked(%s) after reopening = %v, %v; want %v", tok, got, err, want)
		}
	}
	if after, _ := get(t, s, revoke.TokenID("at")); after != before {
		t.Errorf("record after reopening:\n%+v\nwant\n%+v", after, before)
	}
	update(t, s, func(tx revoke.Tx) error {
		seq, err := tx.NextSeq(ctx)
		if err == nil && seq <= lastSeq {
			t.Errorf("NextSeq after reopening = %d, want more than %d", seq, lastSeq)
		}
		return err
	})
}

// TestRecordRoundTrip: Get returns exactly what Put stored.
func TestRecordRoundTrip(t *testing.T) {
	s := mustOpen(t, tempPath(t), bolt.WithNoSync())
	defer s.Close()
	base := newRecord("a", time.Unix(1700000000, 123456789))
	recs := []revoke.Record{base}
	withParent := newRecord("b", time.Unix(0, math.MaxInt64))
	withParent.Parent, withParent.Grant, withParent.Kind, withParent.Seq = base.ID, base.ID, revoke.Access, math.MaxUint64-1
	withParent.Subject = "ünïcødé " + strings.Repeat("x", 300)
	recs = append(recs, withParent)
	old := newRecord("c", time.Date(1700, 1, 1, 0, 0, 0, 1, time.UTC))
	old.ClientID, old.Check, old.Kind = strings.Repeat("c", 70000)[:60000], math.MaxUint32, revoke.Kind(200)
	recs = append(recs, old)
	foreignGrant := newRecord("d", time.Unix(0, math.MinInt64))
	foreignGrant.Grant = revoke.TokenID("elsewhere")
	recs = append(recs, foreignGrant)

	update(t, s, func(tx revoke.Tx) error {
		for _, rec := range recs {
			if err := tx.Put(ctx, rec); err != nil {
				return err
			}
		}
		return nil
	})
	for i, want := range recs {
		got, found := get(t, s, want.ID)
		if !found || got != want {
			t.Errorf("record %d: Get = %+v (found %v)\nwant %+v", i, got, found, want)
		}
	}

	// Expiries an int64 of nanoseconds cannot hold are refused.
	for _, exp := range []time.Time{{}, time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1677, 1, 1, 0, 0, 0, 0, time.UTC)} {
		rec := newRecord("bad-"+exp.String(), exp)
		rec.ExpiresAt = exp
		err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, rec) })
		if err == nil {
			t.Errorf("Put with ExpiresAt %v succeeded", exp)
		}
		if _, found := get(t, s, rec.ID); found {
			t.Errorf("Put with ExpiresAt %v stored a record", exp)
		}
	}
	// So are absurdly long strings.
	long := newRecord("long", time.Now())
	long.Subject = strings.Repeat("s", 1<<17)
	if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, long) }); err == nil {
		t.Error("Put of a 128 KiB subject succeeded")
	}
}

// TestIndexMaintenance: replacing a record moves its index entries, and
// deleting it removes them, in the same transaction.
func TestIndexMaintenance(t *testing.T) {
	s := mustOpen(t, tempPath(t), bolt.WithNoSync())
	defer s.Close()
	now := time.Now().UTC()
	g1, g2 := revoke.TokenID("g1"), revoke.TokenID("g2")
	rec := newRecord("tok", now.Add(-time.Hour))
	rec.Grant = g1
	update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, rec) })
	members, expired, revs := indexes(t, s, g1, now)
	if len(members) != 1 || len(expired) != 1 || len(revs) != 0 {
		t.Fatalf("after Put: %d members, %d expired, %d revocations; want 1, 1, 0", len(members), len(expired), len(revs))
	}

	// Revoke it.
	rec.Seq = 5
	update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, rec) })
	if _, _, revs = indexes(t, s, g1, now); len(revs) != 1 || revs[0] != rec.Revocation() {
		t.Fatalf("after revoking: revocations %+v, want %+v", revs, rec.Revocation())
	}

	// Move it to another grant, a later expiry and sequence.
	moved := rec
	moved.Grant, moved.ExpiresAt, moved.Seq, moved.Check = g2, now.Add(time.Hour), 9, 77
	update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, moved) })
	members, expired, revs = indexes(t, s, g1, now)
	if len(members) != 0 || len(expired) != 0 {
		t.Errorf("after moving: old grant has %d members, %d expired; want none", len(members), len(expired))
	}
	if len(revs) != 1 || revs[0] != moved.Revocation() {
		t.Errorf("after moving: revocations %+v, want only %+v", revs, moved.Revocation())
	}
	if members, expired, _ = indexes(t, s, g2, now.Add(2*time.Hour)); len(members) != 1 || len(expired) != 1 {
		t.Errorf("after moving: new grant has %d members, %d expired by then; want 1, 1", len(members), len(expired))
	}

	// Un-revoke (a store stores what it is given).
	live := moved
	live.Seq = 0
	update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, live) })
	if _, _, revs = indexes(t, s, g2, now); len(revs) != 0 {
		t.Errorf("after clearing Seq: %d revocations, want 0", len(revs))
	}

	// Delete removes everything; deleting again does nothing.
	update(t, s, func(tx revoke.Tx) error {
		if err := tx.Delete(ctx, moved.ID); err != nil {
			return err
		}
		return tx.Delete(ctx, moved.ID)
	})
	members, expired, revs = indexes(t, s, g2, now.Add(2*time.Hour))
	if len(members)+len(expired)+len(revs) != 0 {
		t.Errorf("after Delete: %d members, %d expired, %d revocations; want none", len(members), len(expired), len(revs))
	}
	if _, found := get(t, s, moved.ID); found {
		t.Error("record found after Delete")
	}
}

// TestExpiredOrderAndLimit: Expired honours its bound exactly and its limit.
func TestExpiredOrderAndLimit(t *testing.T) {
	s := mustOpen(t, tempPath(t), bolt.WithNoSync())
	defer s.Close()
	t0 := time.Unix(0, 0).UTC()
	var recs []revoke.Record
	for i, d := range []time.Duration{-2, -1, 0, 1, 2} { // around 1970, negative nanoseconds too
		rec := newRecord(fmt.Sprint("tok-", i), t0.Add(d))
		recs = append(recs, rec)
	}
	update(t, s, func(tx revoke.Tx) error {
		for _, rec := range recs {
			if err := tx.Put(ctx, rec); err != nil {
				return err
			}
		}
		return nil
	})
	count := func(before time.Time, limit int) (n int) {
		err := s.View(ctx, func(tx revoke.Tx) error {
			return tx.Expired(ctx, before, limit, func(rec revoke.Record) error {
				if !rec.ExpiresAt.Before(before) {
					t.Errorf("Expired(%v) returned a record expiring at %v", before, rec.ExpiresAt)
				}
				n++
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, c := range []struct {
		before time.Time
		limit  int
		want   int
	}{
		{t0, 10, 2}, {t0.Add(1), 10, 3}, {t0.Add(-2), 10, 0}, {t0.Add(3), 10, 5},
		{t0.Add(3), 4, 4}, {t0.Add(3), 0, 0}, {time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), 10, 5},
		{time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), 10, 0},
	} {
		if got := count(c.before, c.limit); got != c.want {
			t.Errorf("Expired(%v, %d): %d records, want %d", c.before, c.limit, got, c.want)
		}
	}
}

func TestNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	putApp(t, db, "k", "v")

	// Two stores in one database, under buckets of their own.
	open := func(bucket string) *revoke.Revoker {
		s, err := bolt.New(db, bolt.WithBucket(bucket))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		r, err := revoke.New(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	a, b := open("tenant-a"), open("tenant-b")
	exp := time.Now().Add(time.Hour)
	for _, r := range []*revoke.Revoker{a, b} {
		if err := r.Issue(ctx, revoke.Token{Value: "rt", Kind: revoke.Refresh, ClientID: "c", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Revoke(ctx, "rt", "c"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := b.IsRevoked(ctx, "rt"); ok {
		t.Error("a revocation in one bucket shows in the other")
	}
	for _, r := range []*revoke.Revoker{a, b} {
		if err := r.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}

	// The db is still open and the application's bucket intact.
	wantApp(t, db, "k", "v")
	putApp(t, db, "k2", "v2")
	a = open("tenant-a")
	if ok, err := a.IsRevoked(ctx, "rt"); err != nil || !ok {
		t.Errorf("IsRevoked after a new Store over the same db = %v, %v; want true", ok, err)
	}
	a.Close()

	if _, err := bolt.New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
	for _, opt := range []bolt.Option{bolt.WithNoSync(), bolt.WithTimeout(time.Second), bolt.WithReadOnly(), bolt.WithFileMode(0o600)} {
		if _, err := bolt.New(db, opt); err == nil || !strings.HasPrefix(err.Error(), "bolt: ") {
			t.Errorf("New with an Open-only option: %v, want an error", err)
		}
	}
	if _, err := bolt.New(db, bolt.WithBucket("")); err == nil {
		t.Error("New with an empty bucket name succeeded")
	}
}

// TestNewReadOnlyDB: over a read-only *bbolt.DB, View works and Update
// fails with ErrReadOnly.
func TestNewReadOnlyDB(t *testing.T) {
	path := populated(t, 2)
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := bolt.New(db)
	if err != nil {
		t.Fatalf("New over a read-only db: %v", err)
	}
	defer s.Close()
	if _, found := get(t, s, revoke.TokenID("refresh-1")); !found {
		t.Error("record not found")
	}
	if err := s.Update(ctx, func(revoke.Tx) error { return nil }); !errors.Is(err, bolt.ErrReadOnly) {
		t.Errorf("Update over a read-only db: %v, want ErrReadOnly", err)
	}
	if _, err := bolt.New(db, bolt.WithBucket("other")); !errors.Is(err, bolt.ErrReadOnly) {
		t.Errorf("New over a read-only db without the store: %v, want ErrReadOnly", err)
	}
}

func TestNewClosedDB(t *testing.T) {
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "app.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := bolt.New(db); err == nil || !errors.Is(err, berrors.ErrDatabaseNotOpen) {
		t.Errorf("New over a closed db: %v, want an error wrapping berrors.ErrDatabaseNotOpen", err)
	}
}

// TestCorruptRecords: stored bytes that do not decode are errors wrapping
// ErrCorrupt, never panics.
func TestCorruptRecords(t *testing.T) {
	path := populated(t, 3)
	good := revoke.TokenID("refresh-1")
	withBolt(t, path, func(tx *bbolt.Tx) error {
		top := tx.Bucket([]byte("revocation"))
		for i, v := range [][]byte{nil, {}, {1}, {2, 0, 1}, {1, 0xff}, append(bytes.Clone(top.Bucket([]byte("records")).Get(good[:])), 0)} {
			id := revoke.TokenID(fmt.Sprint("garbage-", i))
			if v == nil {
				// A grant index entry for a record that is not there.
				if err := top.Bucket([]byte("grants")).Put(append(good[:], id[:]...), []byte{}); err != nil {
					return err
				}
				continue
			}
			if err := top.Bucket([]byte("records")).Put(id[:], v); err != nil {
				return err
			}
		}
		return top.Bucket([]byte("revoked")).Put([]byte("short"), []byte{1})
	})
	s := mustOpen(t, path)
	defer s.Close()
	for i := range 6 {
		err := s.View(ctx, func(tx revoke.Tx) error {
			_, _, err := tx.Get(ctx, revoke.TokenID(fmt.Sprint("garbage-", i)))
			return err
		})
		if i > 0 && !errors.Is(err, bolt.ErrCorrupt) {
			t.Errorf("Get of garbage %d: %v, want ErrCorrupt", i, err)
		}
	}
	err := s.View(ctx, func(tx revoke.Tx) error {
		return tx.Grant(ctx, good, func(revoke.Record) error { return nil })
	})
	if !errors.Is(err, bolt.ErrCorrupt) {
		t.Errorf("Grant over a dangling index entry: %v, want ErrCorrupt", err)
	}
	if _, err := revoke.New(s); !errors.Is(err, bolt.ErrCorrupt) {
		t.Errorf("revoke.New over a damaged revocation index: %v, want ErrCorrupt", err)
	}
}

func TestNoSync(t *testing.T) {
	path := tempPath(t)
	s := mustOpen(t, path, bolt.WithNoSync())
	update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, newRecord("x", time.Now())) })
	s.Close()
	s = mustOpen(t, path)
	defer s.Close()
	if _, found := get(t, s, revoke.TokenID("x")); !found {
		t.Error("a NoSync commit is lost across a clean Close")
	}
}
