package storetest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/sdkauth/revocation/internal/harness"
	"github.com/sdkauth/revocation/revoke"
)

// statusRecord is a record of testStatusRefRoundTrip: a token of grant (its
// own when zero) with status, revoked at seq (live at 0).
func statusRecord(name string, grant revoke.ID, seq uint64, status revoke.StatusRef, exp time.Time) revoke.Record {
	id := revoke.TokenID("status-" + name)
	rec := revoke.Record{ID: id, Check: revoke.Checksum("status-" + name), Kind: revoke.Access, ClientID: "c1",
		Subject: "alice", Grant: grant, ExpiresAt: exp, Seq: seq, Status: status}
	if grant.IsZero() {
		rec.Grant, rec.Kind = id, revoke.Refresh
	} else {
		rec.Parent = grant
	}
	return rec
}

// testStatusRefRoundTrip checks that a Store keeps Record.Status as it
// keeps the other fields: Put records with Status List entries at the ends
// of their ranges, and the zero StatusRef, and read them back through
// every path that returns a record (Get of one ID and of many, Scan) and
// in the Revocations of RevokeGrants and RevokedSince, in the writing
// transaction and in a later one. RevokeGrants leaves the Status as it is,
// and a Put that changes only the Status of a revoked record changes what
// RevokedSince reports.
func testStatusRefRoundTrip(t *testing.T, open func(*testing.T) revoke.Store) {
	s := open(t)
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	exp := time.Now().Add(time.Hour).UTC().Round(time.Microsecond)
	past := time.Now().Add(-time.Hour).UTC().Round(time.Microsecond)
	root := statusRecord("root", revoke.ID{}, 3, revoke.StatusRef{List: math.MaxUint64, Index: math.MaxUint32}, exp)
	recs := []revoke.Record{
		root,
		statusRecord("first", root.ID, 4, revoke.StatusRef{List: 1, Index: 0}, exp),
		statusRecord("zero", root.ID, 5, revoke.StatusRef{}, exp),
		statusRecord("live", root.ID, 0, revoke.StatusRef{List: 1 << 63, Index: 1 << 31}, exp),
		statusRecord("expired", revoke.ID{}, 6, revoke.StatusRef{List: math.MaxInt64, Index: 77}, past),
		statusRecord("loose", revoke.ID{}, 0, revoke.StatusRef{List: 5, Index: 5}, past),
	}
	check := func(tx revoke.Tx, step string, want []revoke.Record) error {
		return errors.Join(checkStatusReads(ctx, tx, step, want), checkStatusRevocations(ctx, tx, step, want))
	}
	err := s.Update(ctx, func(tx revoke.Tx) error {
		for _, rec := range recs {
			if err := tx.Put(ctx, []revoke.Record{rec}); err != nil {
				return err
			}
		}
		return check(tx, "in the writing transaction", recs)
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := s.View(ctx, func(tx revoke.Tx) error { return check(tx, "in a later transaction", recs) }); err != nil {
		t.Fatal(err)
	}

	// Revoke the live records with RevokeGrants, the grant of one read
	// first as a cascade does, and change the Status of a revoked one,
	// then read again.
	live, loose, changed := &recs[3], &recs[5], &recs[1]
	changed.Status = revoke.StatusRef{List: 2, Index: 9}
	err = s.Update(ctx, func(tx revoke.Tx) error {
		if _, err := tx.Get(ctx, ids(recs[:4])); err != nil {
			return err
		}
		if err := revokeGrantStatus(ctx, tx, live, root.ID); err != nil {
			return err
		}
		if err := revokeGrantStatus(ctx, tx, loose, loose.ID); err != nil {
			return err
		}
		if err := tx.Put(ctx, []revoke.Record{*changed}); err != nil {
			return err
		}
		return check(tx, "after RevokeGrants, in its transaction", recs)
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := s.View(ctx, func(tx revoke.Tx) error { return check(tx, "after RevokeGrants", recs) }); err != nil {
		t.Fatal(err)
	}
}

// revokeGrantStatus revokes grant, whose one live record is *rec, under a
// new sequence number, sets rec.Seq to it and checks that the revocation
// RevokeGrants returns carries rec's Status.
func revokeGrantStatus(ctx context.Context, tx revoke.Tx, rec *revoke.Record, grant revoke.ID) error {
	seq, err := tx.NextSeq(ctx)
	if err != nil {
		return err
	}
	revs, err := tx.RevokeGrants(ctx, seq, []revoke.ID{grant})
	if err != nil {
		return fmt.Errorf("RevokeGrants: %w", err)
	}
	rec.Seq = seq
	if len(revs) != 1 || revs[0] != rec.Revocation() {
		return fmt.Errorf("RevokeGrants = %+v, want the one live record's entry %+v, Status included", revs, rec.Revocation())
	}
	return nil
}

// checkStatusReads checks that every path of tx that returns a record
// returns want's records as they are, Status included: Get of each, Get of
// them all and Scan. step says when, in the errors.
func checkStatusReads(ctx context.Context, tx revoke.Tx, step string, want []revoke.Record) error {
	c := statusCheck{step: step, want: make(map[revoke.ID]revoke.Record, len(want)), seen: map[string]int{}}
	for _, rec := range want {
		c.want[rec.ID] = rec
	}
	if err := c.get(ctx, tx, want); err != nil {
		return err
	}
	batch, err := tx.Get(ctx, ids(want))
	if err != nil {
		return fmt.Errorf("%s: Get of them all: %w", step, err)
	}
	c.visitAll("Get of them all", batch)
	scanned, err := tx.Scan(ctx, revoke.ID{}, len(want)+1)
	if err != nil {
		return fmt.Errorf("%s: Scan: %w", step, err)
	}
	c.visitAll("Scan", scanned)
	for how, n := range map[string]int{"Get": len(want), "Get of them all": len(want), "Scan": len(want)} {
		if c.seen[how] != n {
			c.errs = append(c.errs, fmt.Errorf("%s: %s: %d records, want %d", step, how, c.seen[how], n))
		}
	}
	return errors.Join(c.errs...)
}

// statusCheck compares the records a read returns with those put.
type statusCheck struct {
	step string
	want map[revoke.ID]revoke.Record
	seen map[string]int // records returned, by read
	errs []error
}

// visit returns the callback of the read how, which checks each record.
func (c *statusCheck) visit(how string) func(revoke.Record) error {
	return func(got revoke.Record) error {
		c.seen[how]++
		if w, ok := c.want[got.ID]; !ok || !recordsEqual(got, w) {
			c.errs = append(c.errs, fmt.Errorf("%s: %s: %+v, want %+v", c.step, how, got, w))
		}
		return nil
	}
}

// visitAll checks each record of recs, which the read how returned.
func (c *statusCheck) visitAll(how string, recs []revoke.Record) {
	visit := c.visit(how)
	for _, rec := range recs {
		_ = visit(rec)
	}
}

// get checks Get of each record of want, one at a time.
func (c *statusCheck) get(ctx context.Context, tx revoke.Tx, want []revoke.Record) error {
	for _, rec := range want {
		got, found, err := getOne(ctx, tx, rec.ID)
		if err != nil {
			return fmt.Errorf("%s: Get: %w", c.step, err)
		}
		if !found {
			c.errs = append(c.errs, fmt.Errorf("%s: Get: record %x not found", c.step, rec.ID[:4]))
			continue
		}
		_ = c.visit("Get")(got)
	}
	return nil
}

// checkStatusRevocations checks that RevokedSince reports the revoked
// records of want, in Seq order, each with its Status.
func checkStatusRevocations(ctx context.Context, tx revoke.Tx, step string, want []revoke.Record) error {
	var revoked []revoke.Revocation
	for _, rec := range want {
		if rec.Revoked() {
			revoked = append(revoked, rec.Revocation())
		}
	}
	slices.SortFunc(revoked, func(a, b revoke.Revocation) int { return cmp.Compare(a.Seq, b.Seq) })
	var got []revoke.Revocation
	err := tx.RevokedSince(ctx, 0, func(rev revoke.Revocation) error {
		got = append(got, rev)
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: RevokedSince: %w", step, err)
	}
	if len(got) != len(revoked) {
		return fmt.Errorf("%s: RevokedSince: %d revocations, want %d", step, len(got), len(revoked))
	}
	var errs []error
	for i, w := range revoked {
		g := got[i]
		if g.ID != w.ID || g.Seq != w.Seq || g.Check != w.Check || !g.ExpiresAt.Equal(w.ExpiresAt) || g.Status != w.Status {
			errs = append(errs, fmt.Errorf("%s: RevokedSince: revocation %d is %+v, want %+v", step, i, g, w))
		}
	}
	return errors.Join(errs...)
}

// testStatusesFollowRevocations checks, through a Revoker, that a token's
// Status List entry follows it however it is revoked: by a Revoke of its
// grant (the cascade, rotated tokens included), by RevokeSubject, by
// RevokeClient and by the reuse of a rotated refresh token. After each,
// ChangesSince reports exactly the entries of the tokens it revoked (the
// zero StatusRef for a token issued without one), and in the end
// Revoker.Statuses reports exactly the entries of every revoked token that
// has one, and none of the tokens still live.
func testStatusesFollowRevocations(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	list := uint64(0)
	var all []revoke.StatusRef // of every revoked token that has one
	// step runs revoke and checks that the change log reports want,
	// the entries of the tokens it revokes.
	step := func(what string, want []revoke.StatusRef, revoke func()) {
		t.Helper()
		_, head := e.R.ChangeRange()
		revoke()
		wantChanges(t, e, what, head, want)
		for _, s := range want {
			if !s.IsZero() {
				all = append(all, s)
			}
		}
	}

	// A grant, rotated, revoked by a Revoke of its newest refresh token.
	list++
	g := e.statusGrant("c1", "alice", list)
	step("Revoke (cascade)", g.refs, func() { e.Revoke(g.toks[2], "c1", len(g.toks)) })

	// A subject's two grants, one of them with a token without an entry.
	list++
	b1 := e.statusGrant("c2", "bob", list)
	plain := e.issueStatus(revoke.Access, "c2", "bob", b1.toks[2], revoke.StatusRef{})
	list++
	b2 := e.statusGrant("c1", "bob", list)
	step("RevokeSubject", concat(b1.refs, []revoke.StatusRef{{}}, b2.refs), func() {
		if n, err := e.R.RevokeSubject(e.Ctx, "bob"); err != nil || n != len(b1.toks)+1+len(b2.toks) {
			t.Fatalf("RevokeSubject = %d, %v", n, err)
		}
	})
	e.WantRevoked("bob's token without an entry", plain)

	// A client's grant, with entries at the ends of their ranges.
	top := revoke.StatusRef{List: math.MaxUint64, Index: math.MaxUint32}
	cr := e.issueStatus(revoke.Refresh, "c3", "carol", "", top)
	ca := e.issueStatus(revoke.Access, "c3", "carol", cr, revoke.StatusRef{List: math.MaxUint64})
	step("RevokeClient", []revoke.StatusRef{top, {List: math.MaxUint64}}, func() {
		if n, err := e.R.RevokeClient(e.Ctx, "c3"); err != nil || n != 2 {
			t.Fatalf("RevokeClient = %d, %v", n, err)
		}
	})
	e.WantRevoked("client's grant", cr, ca)

	// A grant revoked by the reuse of its spent first refresh token.
	list++
	r := e.statusGrant("c1", "dave", list)
	step("reuse", r.refs, func() {
		next := revoke.Token{Value: harness.Token(), Kind: revoke.Refresh, ClientID: "c1", ExpiresAt: e.Clock.Now().Add(time.Hour),
			Status: revoke.StatusRef{List: list, Index: 99}}
		if err := e.R.Rotate(e.Ctx, r.toks[0], next); !errors.Is(err, revoke.ErrReused) {
			t.Fatalf("Rotate of a spent token: %v, want ErrReused", err)
		}
	})

	// Live tokens with entries stay out of Statuses.
	list++
	live := e.statusGrant("c1", "erin", list)
	e.WantLive("erin's grant", live.toks...)
	wantStatuses(t, e, all)
}

// statusGrant is a grant of testStatusesFollowRevocations: its tokens, and
// their entries in list, in the same order.
type statusGrant struct {
	toks []string
	refs []revoke.StatusRef
}

// statusGrant issues a refresh token, an access token minted from it, a
// refresh token rotated from it and an access token minted from that, each
// with its entry in list.
func (e *env) statusGrant(client, subject string, list uint64) statusGrant {
	e.T.Helper()
	ref := func(i uint32) revoke.StatusRef { return revoke.StatusRef{List: list, Index: i} }
	r0 := e.issueStatus(revoke.Refresh, client, subject, "", ref(0))
	a0 := e.issueStatus(revoke.Access, client, subject, r0, ref(1))
	r1 := harness.Token()
	next := revoke.Token{Value: r1, Kind: revoke.Refresh, ClientID: client, ExpiresAt: e.Clock.Now().Add(24 * time.Hour), Status: ref(2)}
	if err := e.R.Rotate(e.Ctx, r0, next); err != nil {
		e.T.Fatalf("Rotate: %v", err)
	}
	a1 := e.issueStatus(revoke.Access, client, subject, r1, ref(3))
	for i, tok := range []string{r0, a0, r1, a1} {
		if rec, found := e.Record(tok); !found || rec.Status != ref(uint32(i)) {
			e.T.Fatalf("stored record of token %d: Status %+v (found %v), want %+v", i, rec.Status, found, ref(uint32(i)))
		}
	}
	return statusGrant{toks: []string{r0, a0, r1, a1}, refs: []revoke.StatusRef{ref(0), ref(1), ref(2), ref(3)}}
}

// issueStatus issues a token with a Status List entry and returns it.
func (e *env) issueStatus(kind revoke.Kind, client, subject, parent string, status revoke.StatusRef) string {
	e.T.Helper()
	v := harness.Token()
	err := e.R.Issue(e.Ctx, revoke.Token{Value: v, Kind: kind, ClientID: client, Subject: subject,
		Parent: parent, ExpiresAt: e.Clock.Now().Add(time.Hour), Status: status})
	if err != nil {
		e.T.Fatalf("Issue with Status %+v: %v", status, err)
	}
	return v
}

// wantChanges checks that the change log after head holds exactly the
// entries want (in any order; a revocation the log holds twice counts
// once, as a reader of the log may see one twice).
func wantChanges(t *testing.T, e *env, what string, head uint64, want []revoke.StatusRef) {
	t.Helper()
	changes, err := e.R.ChangesSince(head, make([]revoke.Revocation, 4*len(want)+16))
	if err != nil {
		t.Fatalf("%s: ChangesSince: %v", what, err)
	}
	seen := make(map[revoke.ID]bool, len(changes))
	var got []revoke.StatusRef
	for _, c := range changes {
		if !seen[c.ID] {
			seen[c.ID] = true
			got = append(got, c.Status)
		}
	}
	if !sameRefs(got, want) {
		t.Errorf("%s: the change log's entries are %v, want %v", what, sortedRefs(got), sortedRefs(want))
	}
}

// wantStatuses checks that Revoker.Statuses reports exactly want, each
// once, and the change log's head.
func wantStatuses(t *testing.T, e *env, want []revoke.StatusRef) {
	t.Helper()
	var got []revoke.StatusRef
	pos, err := e.R.Statuses(e.Ctx, func(batch []revoke.StatusRef) error {
		got = append(got, batch...)
		return nil
	})
	if err != nil {
		t.Fatalf("Statuses: %v", err)
	}
	if !sameRefs(got, want) {
		t.Errorf("Statuses = %v, want %v", sortedRefs(got), sortedRefs(want))
	}
	if _, head := e.R.ChangeRange(); pos != head {
		t.Errorf("Statuses returned position %d, want the head %d", pos, head)
	}
}

func sameRefs(a, b []revoke.StatusRef) bool {
	return slices.Equal(sortedRefs(a), sortedRefs(b))
}

func sortedRefs(s []revoke.StatusRef) []revoke.StatusRef {
	s = slices.Clone(s)
	slices.SortFunc(s, func(a, b revoke.StatusRef) int {
		return cmp.Or(cmp.Compare(a.List, b.List), cmp.Compare(a.Index, b.Index))
	})
	return s
}

func concat(parts ...[]revoke.StatusRef) []revoke.StatusRef {
	return slices.Concat(parts...)
}
