package bolt_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
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
		recs, err := tx.Get(ctx, []revoke.ID{id})
		if len(recs) == 1 {
			rec, found = recs[0], true
		}
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
		var err error
		if expired, err = tx.Expired(ctx, before, math.MaxInt); err != nil {
			return err
		}
		return tx.RevokedSince(ctx, 0, func(r revoke.Revocation) error { revs = append(revs, r); return nil })
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return grantMembers(t, s, grant), expired, revs
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
						_, err := tx.Get(ctx, []revoke.ID{revoke.TokenID("x")})
						return err
					})
				} else {
					err = s.Update(ctx, func(tx revoke.Tx) error {
						return tx.Put(ctx, []revoke.Record{newRecord(fmt.Sprint(w, "-", i), time.Now().Add(time.Hour))})
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
			return tx.Put(ctx, []revoke.Record{rec})
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
		if err := tx.Put(during, []revoke.Record{rec}); err != nil {
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
// within a few hundred items, and visit every item otherwise.
func TestIterationsCheckContext(t *testing.T) {
	s := mustOpen(t, tempPath(t), bolt.WithNoSync())
	defer s.Close()
	const n = 2000
	grant := revoke.TokenID("grant")
	past := time.Now().Add(-time.Hour)
	recs := make([]revoke.Record, 0, n)
	for i := range n {
		rec := newRecord(fmt.Sprint("tok-", i), past)
		rec.Grant = grant
		if i%2 == 0 {
			rec.Seq = uint64(i + 1)
		}
		recs = append(recs, rec)
	}
	update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, recs) })
	// Each iteration, run with c, reports how many items it visited.
	iterations := map[string]func(c context.Context, tx revoke.Tx) (int, error){
		"RevokeGrants": func(c context.Context, tx revoke.Tx) (int, error) {
			revs, err := tx.RevokeGrants(c, n+1, []revoke.ID{grant})
			return len(revs), err
		},
		"RevokedSince": func(c context.Context, tx revoke.Tx) (int, error) {
			seen := 0
			err := tx.RevokedSince(c, 0, func(revoke.Revocation) error { seen++; return nil })
			return seen, err
		},
		"Expired": func(c context.Context, tx revoke.Tx) (int, error) {
			ids, err := tx.Expired(c, time.Now(), n)
			return len(ids), err
		},
		"Scan": func(c context.Context, tx revoke.Tx) (int, error) {
			got, err := tx.Scan(c, revoke.ID{}, n)
			return len(got), err
		},
		"GrantsOf": func(c context.Context, tx revoke.Tx) (int, error) {
			got, err := tx.GrantsOf(c, revoke.ByClient, "c", revoke.ID{}, n)
			return len(got), err
		},
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	want := map[string]int{"RevokeGrants": n / 2, "RevokedSince": n / 2, "Expired": n, "Scan": n, "GrantsOf": 1}
	for name, iter := range iterations {
		if name != "GrantsOf" { // one grant: nothing to notice
			err := s.Update(ctx, func(tx revoke.Tx) error { _, err := iter(cancelled, tx); return err })
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s with a cancelled context: %v, want context.Canceled", name, err)
			}
		}
		var got int
		err := s.Update(ctx, func(tx revoke.Tx) error {
			var err error
			got, err = iter(ctx, tx)
			return errors.Join(err, errRollBack)
		})
		if !errors.Is(err, errRollBack) || got != want[name] {
			t.Errorf("%s: %d items, %v; want %d", name, got, err, want[name])
		}
	}
}

// errRollBack rolls an Update back.
var errRollBack = errors.New("roll back")

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
			if err := tx.Put(ctx, []revoke.Record{rec}); err != nil {
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
		err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) })
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
	if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{long}) }); err == nil {
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
	update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) })
	members, expired, revs := indexes(t, s, g1, now)
	if len(members) != 1 || len(expired) != 1 || len(revs) != 0 {
		t.Fatalf("after Put: %d members, %d expired, %d revocations; want 1, 1, 0", len(members), len(expired), len(revs))
	}

	// Revoke it.
	rec.Seq = 5
	update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) })
	if _, _, revs = indexes(t, s, g1, now); len(revs) != 1 || revs[0] != rec.Revocation() {
		t.Fatalf("after revoking: revocations %+v, want %+v", revs, rec.Revocation())
	}

	// Put it again at a later expiry and sequence: the entries move.
	later := rec
	later.ExpiresAt, later.Seq, later.Check = now.Add(time.Hour), 9, 77
	update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{later}) })
	members, expired, revs = indexes(t, s, g1, now)
	if len(members) != 1 || len(expired) != 0 {
		t.Errorf("after a later expiry: %d members, %d expired; want 1, 0", len(members), len(expired))
	}
	if len(revs) != 1 || revs[0] != later.Revocation() {
		t.Errorf("after a later Seq: revocations %+v, want only %+v", revs, later.Revocation())
	}

	// Delete it and put it again in another grant.
	moved := later
	moved.Grant = g2
	update(t, s, func(tx revoke.Tx) error {
		return errors.Join(tx.Delete(ctx, []revoke.ID{moved.ID}), tx.Put(ctx, []revoke.Record{moved}))
	})
	if members, _, revs = indexes(t, s, g1, now); len(members) != 0 || len(revs) != 1 || revs[0] != moved.Revocation() {
		t.Errorf("after moving: old grant has %d members, revocations %+v; want none, %+v", len(members), revs, moved.Revocation())
	}
	if members, expired, _ = indexes(t, s, g2, now.Add(2*time.Hour)); len(members) != 1 || len(expired) != 1 {
		t.Errorf("after moving: new grant has %d members, %d expired by then; want 1, 1", len(members), len(expired))
	}

	// Un-revoke (a store stores what it is given).
	live := moved
	live.Seq = 0
	update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{live}) })
	if _, _, revs = indexes(t, s, g2, now); len(revs) != 0 {
		t.Errorf("after clearing Seq: %d revocations, want 0", len(revs))
	}

	// Delete removes everything; deleting again does nothing.
	update(t, s, func(tx revoke.Tx) error {
		if err := tx.Delete(ctx, []revoke.ID{moved.ID, moved.ID}); err != nil {
			return err
		}
		return tx.Delete(ctx, []revoke.ID{moved.ID})
	})
	members, expired, revs = indexes(t, s, g2, now.Add(2*time.Hour))
	if len(members)+len(expired)+len(revs) != 0 {
		t.Errorf("after Delete: %d members, %d expired, %d revocations; want none", len(members), len(expired), len(revs))
	}
	if _, found := get(t, s, moved.ID); found {
		t.Error("record found after Delete")
	}
}

// TestLayout: a record lies under its grant's key ‖ its own ID, keys are
// handed out in ascending order, the ids bucket maps every record's ID to
// its grant's key, the grantkeys bucket maps to its key every grant that has
// records but not its first token (and no other), the owners bucket holds
// one entry per grant and client, and Put and Delete keep them in step as
// records are deleted and put again in other grants, all checked in the
// buckets themselves.
func TestLayout(t *testing.T) {
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "app.db"), 0o600, &bbolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := bolt.New(db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	exp := time.Now().Add(time.Hour)
	g, o := newRecord("g", exp), newRecord("o", exp) // two grants
	a, b := newRecord("a", exp), newRecord("b", exp)
	a.Parent, a.Grant, a.Kind = g.ID, g.ID, revoke.Access
	b.Parent, b.Grant, b.Kind = g.ID, g.ID, revoke.Access
	l := &layout{t: t, db: db, s: s, keys: map[revoke.ID]string{}, name: map[revoke.ID]string{g.ID: "g", o.ID: "o", a.ID: "a", b.ID: "b"}}
	put := func(recs ...revoke.Record) {
		t.Helper()
		update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, recs) })
	}
	// move deletes r and puts it again, in the grant it names.
	move := func(r revoke.Record) {
		t.Helper()
		update(t, s, func(tx revoke.Tx) error {
			return errors.Join(tx.Delete(ctx, []revoke.ID{r.ID}), tx.Put(ctx, []revoke.Record{r}))
		})
	}

	put(g, o, a, b)
	l.check("Put", g, o, a, b)
	// Grant keys ascend in the order the grants were created.
	if l.keys[g.ID] >= l.keys[o.ID] {
		t.Errorf("grant g, created first, has key %x, not below o's %x", l.keys[g.ID], l.keys[o.ID])
	}

	// Revoking rewrites the records in place.
	g.Seq, a.Seq, b.Seq = 3, 3, 3
	put(g, a, b)
	l.check("revoking", g, o, a, b)

	// a moves to o's grant.
	a.Grant = o.ID
	move(a)
	l.check("moving a member to another grant", g, o, a, b)

	// a starts a grant of its own.
	a.Grant, a.Parent = a.ID, revoke.ID{}
	move(a)
	l.check("making a member a root", g, o, a, b)

	// g, a root, joins o's grant; b stays in g's, without g.
	g.Grant = o.ID
	move(g)
	l.check("making a root a member", g, o, a, b)

	// Delete removes a record with its ids entry, from any grant.
	update(t, s, func(tx revoke.Tx) error { return tx.Delete(ctx, []revoke.ID{b.ID}) })
	l.check("deleting a member", g, o, a)
	update(t, s, func(tx revoke.Tx) error { return tx.Delete(ctx, []revoke.ID{g.ID, o.ID, a.ID}) })
	l.check("deleting everything")
	if _, _, revs := indexes(t, s, g.ID, exp.Add(time.Hour)); len(revs) != 0 {
		t.Errorf("after deleting everything: %d revocations", len(revs))
	}
}

// layout reads the buckets of a store for TestLayout, by the names of its
// records.
type layout struct {
	t    *testing.T
	db   *bbolt.DB
	s    *bolt.Store
	name map[revoke.ID]string
	keys map[revoke.ID]string // the key each grant was first given
}

// buckets is what the buckets hold, by name: the records keys (grant ‖
// record), the ids entries (record → grant), the grants that have a key,
// those in grantkeys, and the number of expiry and owners entries.
type buckets struct {
	records, ids, grants, grantKeys map[string]string
	expiries, owners                int
}

func newBuckets() buckets {
	return buckets{records: map[string]string{}, ids: map[string]string{}, grants: map[string]string{}, grantKeys: map[string]string{}}
}

// want returns what the buckets hold with recs stored. Every record has
// client "c" and no subject: one owners entry per grant.
func (l *layout) want(recs []revoke.Record) buckets {
	w := newBuckets()
	for _, r := range recs {
		w.records[l.name[r.Grant]+"‖"+l.name[r.ID]] = ""
		w.ids[l.name[r.ID]] = l.name[r.Grant]
		w.grants[l.name[r.Grant]] = ""
		w.grantKeys[l.name[r.Grant]] = ""
	}
	for _, r := range recs {
		if r.Grant == r.ID {
			delete(w.grantKeys, l.name[r.ID])
		}
	}
	w.expiries, w.owners = len(recs), len(w.grants)
	return w
}

// check wants the buckets to hold exactly recs and their entries, and Get
// and the grants' members to find each record as it was put.
func (l *layout) check(step string, recs ...revoke.Record) {
	l.t.Helper()
	var got buckets
	err := l.db.View(func(tx *bbolt.Tx) error {
		var err error
		got, err = l.read(step, tx.Bucket([]byte("revocation")), recs)
		return err
	})
	if err != nil {
		l.t.Fatalf("%s: %v", step, err)
	}
	if want := l.want(recs); fmt.Sprint(got) != fmt.Sprint(want) {
		l.t.Errorf("%s: buckets hold\n%v\nwant\n%v", step, got, want)
	}
	l.checkReads(step, recs)
}

// read reads the buckets of top, in which recs are stored.
func (l *layout) read(step string, top *bbolt.Bucket, recs []revoke.Record) (buckets, error) {
	if top.Bucket([]byte("members")) != nil {
		l.t.Errorf("%s: the store has a members bucket", step)
	}
	got := newBuckets()
	byKey, err := l.readGrantKeys(step, top, recs, got)
	if err != nil {
		return got, err
	}
	err = top.Bucket([]byte("records")).ForEach(func(k, v []byte) error {
		if len(k) != 40 {
			return fmt.Errorf("records key of %d bytes", len(k))
		}
		got.records[byKey[string(k[:8])]+"‖"+l.name[revoke.ID(k[8:])]] = ""
		return nil
	})
	if err != nil {
		return got, err
	}
	err = top.Bucket([]byte("ids")).ForEach(func(k, v []byte) error {
		if len(k) != 32 || len(v) != 8 {
			return fmt.Errorf("ids entry of %d+%d bytes", len(k), len(v))
		}
		got.ids[l.name[revoke.ID(k)]] = byKey[string(v)]
		return nil
	})
	got.expiries = top.Bucket([]byte("expiry")).Stats().KeyN
	got.owners = top.Bucket([]byte("owners")).Stats().KeyN
	return got, err
}

// readGrantKeys reads the keys of the grants into got and returns the
// grants' names by key. The grants without their first token are in
// grantkeys, the others' keys are their first token's ids entries. A
// grant's key never changes.
func (l *layout) readGrantKeys(step string, top *bbolt.Bucket, recs []revoke.Record, got buckets) (map[string]string, error) {
	byKey := map[string]string{}
	note := func(g revoke.ID, v []byte) {
		if prev, ok := l.keys[g]; ok && prev != string(v) {
			l.t.Errorf("%s: grant %s changed key from %x to %x", step, l.name[g], prev, v)
		}
		l.keys[g] = string(v)
		byKey[string(v)] = l.name[g]
		got.grants[l.name[g]] = ""
	}
	err := top.Bucket([]byte("grantkeys")).ForEach(func(k, v []byte) error {
		if len(k) != 32 || len(v) != 8 {
			return fmt.Errorf("grantkeys entry of %d+%d bytes", len(k), len(v))
		}
		note(revoke.ID(k), v)
		got.grantKeys[l.name[revoke.ID(k)]] = ""
		return nil
	})
	for _, r := range recs {
		if v := top.Bucket([]byte("ids")).Get(r.ID[:]); r.Grant == r.ID && v != nil {
			note(r.ID, v)
		}
	}
	return byKey, err
}

// checkReads wants Get to find each of recs as it was put, and the members
// of each grant to be those of recs.
func (l *layout) checkReads(step string, recs []revoke.Record) {
	l.t.Helper()
	grants := map[revoke.ID][]string{}
	for _, r := range recs {
		if got, found := get(l.t, l.s, r.ID); !found || got != r {
			l.t.Errorf("%s: Get(%s) = %+v (found %v), want %+v", step, l.name[r.ID], got, found, r)
		}
		grants[r.Grant] = append(grants[r.Grant], l.name[r.ID])
	}
	for grant, n := range l.name {
		var got []string
		for _, id := range grantMembers(l.t, l.s, grant) {
			got = append(got, l.name[id])
		}
		want := grants[grant]
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			l.t.Errorf("%s: members of %s = %v, want %v", step, n, got, want)
		}
	}
}

// TestGrantRecreated: a grant whose last record is deleted and which gets a
// record again in the same transaction is a grant like any other: its key
// is in the grantkeys bucket, and Get and the grant's members find the new
// record.
func TestGrantRecreated(t *testing.T) {
	s := mustOpen(t, tempPath(t), bolt.WithNoSync())
	defer s.Close()
	exp := time.Now().Add(time.Hour)
	g := newRecord("g", exp)
	a := newRecord("a", exp)
	a.Parent, a.Grant, a.Kind = g.ID, g.ID, revoke.Access
	update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{g}) })
	update(t, s, func(tx revoke.Tx) error {
		if err := tx.Delete(ctx, []revoke.ID{g.ID}); err != nil {
			return err
		}
		return tx.Put(ctx, []revoke.Record{a}) // g's grant, now without a record
	})
	if got, found := get(t, s, a.ID); !found || got != a {
		t.Errorf("Get after the grant was recreated = %+v (found %v), want %+v", got, found, a)
	}
	if ids := grantMembers(t, s, g.ID); len(ids) != 1 || ids[0] != a.ID {
		t.Errorf("Grant after the grant was recreated = %x, want a's ID", ids)
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
	update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, recs) })
	count := func(before time.Time, limit int) int {
		var got []revoke.Record
		err := s.View(ctx, func(tx revoke.Tx) error {
			ids, err := tx.Expired(ctx, before, limit)
			if err == nil {
				got, err = tx.Get(ctx, ids)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range got {
			if !rec.ExpiresAt.Before(before) {
				t.Errorf("Expired(%v) returned a record expiring at %v", before, rec.ExpiresAt)
			}
		}
		return len(got)
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
	if err := s.Update(ctx, func(revoke.Tx) error { return nil }); !errors.Is(err, revoke.ErrReadOnly) {
		t.Errorf("Update over a read-only db: %v, want ErrReadOnly", err)
	}
	if _, err := bolt.New(db, bolt.WithBucket("other")); !errors.Is(err, revoke.ErrReadOnly) {
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

// TestCorruptRecords: stored bytes that do not decode, and entries that
// contradict each other, are errors wrapping ErrCorrupt, never panics.
func TestCorruptRecords(t *testing.T) {
	path := populated(t, 4)
	g0, g1, g2, g3 := revoke.TokenID("refresh-0"), revoke.TokenID("refresh-1"), revoke.TokenID("refresh-2"), revoke.TokenID("refresh-3")
	garbage := func(i int) revoke.ID { return revoke.TokenID(fmt.Sprint("garbage-", i)) }
	key := func(gk []byte, id revoke.ID) []byte { return append(bytes.Clone(gk), id[:]...) }
	withBolt(t, path, func(tx *bbolt.Tx) error {
		top := tx.Bucket([]byte("revocation"))
		records, ids, grants := top.Bucket([]byte("records")), top.Bucket([]byte("ids")), top.Bucket([]byte("grantkeys"))
		// Each grant here has its first token: its key is that token's
		// ids entry.
		gk := func(g revoke.ID) []byte { return bytes.Clone(ids.Get(g[:])) }
		good := bytes.Clone(records.Get(key(gk(g0), g0)))
		if good == nil {
			return errors.New("refresh-0 is not stored under its grant's key")
		}
		// 1 to 5: values that do not decode, under grant keys of their
		// own.
		for i, v := range [][]byte{{}, {1}, {2, 0, 1}, {1, 0xff}, append(bytes.Clone(good), 0)} {
			id := garbage(i + 1)
			k := []byte{0xff, 0, 0, 0, 0, 0, 0, byte(i)}
			if err := errors.Join(grants.Put(id[:], k), ids.Put(id[:], k), records.Put(key(k, id), v)); err != nil {
				return err
			}
		}
		id0, id6, id7 := garbage(0), garbage(6), garbage(7)
		return errors.Join(
			// 0: an ids entry naming a missing record.
			ids.Put(id0[:], gk(g0)),
			// 6: a record of a grant not its own (the value names
			// refresh-0's) under refresh-1's key, which ids names.
			records.Put(key(gk(g1), id6), bytes.Clone(records.Get(key(gk(g0), revoke.TokenID("access-0"))))),
			ids.Put(id6[:], gk(g1)),
			// A record of its own grant (as its value says) stored
			// under refresh-1's grant key, which RevokeGrants reads.
			records.Put(key(gk(g1), garbage(8)), good),
			// 7: an ids entry that is not a grant key.
			ids.Put(id7[:], []byte{1, 2, 3}),
			// A key of refresh-2's grant too short to hold an ID.
			records.Put(append(gk(g2), 'x'), good),
			// refresh-3 stored under its grant's key with a value
			// naming another grant, refresh-1's. Get finds the
			// contradiction; RevokeGrants of refresh-3 cannot: that
			// record is taken for a member of another grant, and
			// refresh-3's grant for one without records.
			records.Put(key(gk(g3), g3), bytes.Clone(records.Get(key(gk(g1), revoke.TokenID("access-1"))))),
			top.Bucket([]byte("revoked")).Put([]byte("short"), []byte{1}),
		)
	})
	s := mustOpen(t, path)
	defer s.Close()
	for _, id := range []revoke.ID{garbage(0), garbage(1), garbage(2), garbage(3), garbage(4), garbage(5), garbage(6), garbage(7), g3} {
		err := s.View(ctx, func(tx revoke.Tx) error {
			_, err := tx.Get(ctx, []revoke.ID{id})
			return err
		})
		if !errors.Is(err, revoke.ErrCorrupt) {
			t.Errorf("Get of %x: %v, want ErrCorrupt", id[:4], err)
		}
		err = s.Update(ctx, func(tx revoke.Tx) error { return tx.Delete(ctx, []revoke.ID{id}) })
		if !errors.Is(err, revoke.ErrCorrupt) {
			t.Errorf("Delete of %x: %v, want ErrCorrupt", id[:4], err)
		}
	}
	for name, g := range map[string]revoke.ID{"a record of another grant": g1, "a short key": g2} {
		err := s.Update(ctx, func(tx revoke.Tx) error {
			_, err := tx.RevokeGrants(ctx, 1, []revoke.ID{g})
			return err
		})
		if !errors.Is(err, revoke.ErrCorrupt) {
			t.Errorf("RevokeGrants over %s: %v, want ErrCorrupt", name, err)
		}
	}
	// The undamaged grant reads as before.
	if n := len(grantMembers(t, s, g0)); n != 2 {
		t.Errorf("members of the undamaged grant: %d members, want 2", n)
	}
	if _, err := revoke.New(s); !errors.Is(err, revoke.ErrCorrupt) {
		t.Errorf("revoke.New over a damaged revocation index: %v, want ErrCorrupt", err)
	}
}

// grantMembers returns the IDs of the records of grant.
func grantMembers(t *testing.T, s revoke.Store, grant revoke.ID) []revoke.ID {
	t.Helper()
	var ids []revoke.ID
	err := s.View(ctx, func(tx revoke.Tx) error {
		recs, err := bolt.Members(tx, grant)
		for _, r := range recs {
			if r.Grant != grant {
				t.Errorf("members of %x: a record of grant %x", grant[:4], r.Grant[:4])
			}
			ids = append(ids, r.ID)
		}
		return err
	})
	if err != nil {
		t.Fatalf("members: %v", err)
	}
	return ids
}

func TestNoSync(t *testing.T) {
	path := tempPath(t)
	s := mustOpen(t, path, bolt.WithNoSync())
	update(t, s, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{newRecord("x", time.Now())}) })
	s.Close()
	s = mustOpen(t, path)
	defer s.Close()
	if _, found := get(t, s, revoke.TokenID("x")); !found {
		t.Error("a NoSync commit is lost across a clean Close")
	}
}

// TestZeroStore checks that a Store not made by Open or New fails with an
// error instead of panicking.
func TestZeroStore(t *testing.T) {
	if _, err := revoke.New(new(bolt.Store)); err == nil {
		t.Error("revoke.New over a zero Store succeeded")
	}
	var s bolt.Store
	if err := s.Update(context.Background(), func(revoke.Tx) error { return nil }); err == nil {
		t.Error("Update on a zero Store succeeded")
	}
	if err := s.Close(); err == nil {
		t.Error("Close of a zero Store succeeded")
	}
}
