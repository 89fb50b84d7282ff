package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// property is one rule of one Tx method, checked on a fresh Store.
type property struct {
	name string
	fn   func(f *fixture)
}

// contractTests are the subtests that check the Tx contract one method at
// a time, on the Store directly: the subtest Get/Batch checks that Get
// answers a batch, and so on. Each runs on a Store of its own.
var contractTests = []struct {
	method string
	props  []property
}{
	{"Get", []property{{"Batch", testGetBatch}, {"OwnWrites", testGetOwnWrites}, {"ValuesOutliveTx", testGetValuesOutliveTx}}},
	{"Put", []property{
		{"Batch", testPutBatch}, {"ReplacesRecord", testPutReplacesRecord},
		{"MemberWithoutRootAddsGrant", testPutMemberWithoutRoot},
		{"AgainUnderAnotherGrant", testPutAgainUnderAnotherGrant},
	}},
	{"Delete", []property{
		{"Batch", testDeleteBatch}, {"LastRecordDropsGrant", testDeleteLastRecordDropsGrant},
		{"GrantRefilledInOneUpdate", testDeleteGrantRefilled},
	}},
	{"RevokeGrants", []property{
		{"OnlyLiveRecords", testRevokeGrantsOnlyLive}, {"SeesOwnWrites", testRevokeGrantsOwnWrites},
		{"Duplicates", testRevokeGrantsDuplicates}, {"ReadsFollow", testRevokeGrantsReadsFollow},
	}},
	{"GrantsOf", []property{
		{"Paging", testGrantsOfPaging}, {"OneEntryPerGrant", testGrantsOfOneEntry},
		{"Owners", testGrantsOfOwners}, {"OwnWrites", testGrantsOfOwnWrites},
	}},
	{"NextSeq", []property{
		{"Increasing", testNextSeqIncreasing}, {"AboveImported", testNextSeqAboveImported},
		{"AbovePutInTx", testNextSeqAbovePutInTx},
	}},
	{"RevokedSince", []property{{"Order", testRevokedSinceOrder}, {"StopsOnError", testRevokedSinceStops}}},
	{"Expired", []property{{"Cutoff", testExpiredCutoff}, {"Limit", testExpiredLimit}, {"OwnWrites", testExpiredOwnWrites}}},
	{"Scan", []property{{"Paging", testScanPaging}, {"OwnWrites", testScanOwnWrites}}},
	{"Capabilities", []property{{"Stable", testCapabilitiesStable}}},
	{"View", []property{{"NotBlockedByUpdate", testViewNotBlockedByUpdate}}},
	{"Update", []property{
		{"CancelledWhileFnRuns", testUpdateCancelledWhileFnRuns},
		{"CancelledWhileWaiting", testUpdateCancelledWhileWaiting},
	}},
}

// runContract runs contractTests, one subtest per method and property.
func runContract(t *testing.T, open func(*testing.T) revoke.Store) {
	for _, m := range contractTests {
		t.Run(m.method, func(t *testing.T) {
			for _, p := range m.props {
				t.Run(p.name, func(t *testing.T) { p.fn(newFixture(t, open)) })
			}
		})
	}
}

// fixture is one contract subtest's Store, with helpers that fail the test
// when the Store fails.
type fixture struct {
	t   *testing.T
	ctx context.Context
	s   revoke.Store
	now time.Time // a time in the past of every record's expiry but the expired ones
}

func newFixture(t *testing.T, open func(*testing.T) revoke.Store) *fixture {
	s := open(t)
	if s == nil {
		t.Fatal("open returned a nil Store")
	}
	t.Cleanup(func() { _ = s.Close() })
	return &fixture{t: t, ctx: context.Background(), s: s, now: time.Now().UTC().Truncate(time.Microsecond)}
}

// cid returns the ID of the record named name.
func cid(name string) revoke.ID { return revoke.TokenID("contract-" + name) }

// rec returns the record named name, of client c1 and subject alice,
// expiring in an hour: a refresh token starting a grant of its own for a
// zero grant, an access token of grant otherwise.
func (f *fixture) rec(name string, grant revoke.ID) revoke.Record {
	r := revoke.Record{ID: cid(name), Check: revoke.Checksum("contract-" + name), Kind: revoke.Access,
		ClientID: "c1", Subject: "alice", Parent: grant, Grant: grant, ExpiresAt: f.now.Add(time.Hour)}
	if grant.IsZero() {
		r.Kind, r.Grant = revoke.Refresh, r.ID
	}
	return r
}

// withOwners returns rec with client and subject set.
func withOwners(rec revoke.Record, client, subject string) revoke.Record {
	rec.ClientID, rec.Subject = client, subject
	return rec
}

// ownedGrants checks that GrantsOf lists want, and only want, for subject
// alice and for client c1, the owners of f.rec's records; ownedGrantsOf,
// for the owners given. what names the moment checked.
func (f *fixture) ownedGrants(tx revoke.Tx, what string, want ...revoke.ID) error {
	return f.ownedGrantsOf(tx, "c1", "alice", what, want...)
}

func (f *fixture) ownedGrantsOf(tx revoke.Tx, client, subject, what string, want ...revoke.ID) error {
	bySubject, err := tx.GrantsOf(f.ctx, revoke.BySubject, subject, revoke.ID{}, 10)
	if err != nil {
		return err
	}
	byClient, err := tx.GrantsOf(f.ctx, revoke.ByClient, client, revoke.ID{}, 10)
	if err != nil {
		return err
	}
	return errors.Join(wantIDs("GrantsOf(subject) "+what, bySubject, want), wantIDs("GrantsOf(client) "+what, byClient, want))
}

// update runs fn in an Update and fails the test when it fails.
func (f *fixture) update(fn func(tx revoke.Tx) error) {
	f.t.Helper()
	if err := f.s.Update(f.ctx, fn); err != nil {
		f.t.Fatalf("Update: %v", err)
	}
}

// view runs fn in a View and fails the test when it fails.
func (f *fixture) view(fn func(tx revoke.Tx) error) {
	f.t.Helper()
	if err := f.s.View(f.ctx, fn); err != nil {
		f.t.Fatalf("View: %v", err)
	}
}

// put stores recs in one Update, with one Put.
func (f *fixture) put(recs ...revoke.Record) {
	f.t.Helper()
	f.update(func(tx revoke.Tx) error { return tx.Put(f.ctx, recs) })
}

// del deletes the records of names in one Update, with one Delete.
func (f *fixture) del(names ...string) {
	f.t.Helper()
	ids := make([]revoke.ID, len(names))
	for i, n := range names {
		ids[i] = cid(n)
	}
	f.update(func(tx revoke.Tx) error { return tx.Delete(f.ctx, ids) })
}

// inAndAfter runs write in an Update, then check in that transaction and
// again in a View after the commit; when says which, for check's errors.
func (f *fixture) inAndAfter(write func(tx revoke.Tx) error, check func(tx revoke.Tx, when string) error) {
	f.t.Helper()
	f.update(func(tx revoke.Tx) error {
		if err := write(tx); err != nil {
			return err
		}
		return check(tx, "in the writing transaction")
	})
	f.view(func(tx revoke.Tx) error { return check(tx, "after the commit") })
}

// revokeGrants draws a sequence number with NextSeq and revokes grants
// under it, in tx.
func revokeGrants(ctx context.Context, tx revoke.Tx, grants ...revoke.ID) (uint64, []revoke.Revocation, error) {
	seq, err := tx.NextSeq(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("NextSeq: %w", err)
	}
	revs, err := tx.RevokeGrants(ctx, seq, grants)
	if err != nil {
		return 0, nil, fmt.Errorf("RevokeGrants: %w", err)
	}
	return seq, revs, nil
}

// revokedSinceAll collects what RevokedSince(seq) reports, in its order.
func revokedSinceAll(ctx context.Context, tx revoke.Tx, seq uint64) ([]revoke.Revocation, error) {
	var revs []revoke.Revocation
	err := tx.RevokedSince(ctx, seq, func(rev revoke.Revocation) error {
		revs = append(revs, rev)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("RevokedSince(%d): %w", seq, err)
	}
	return revs, nil
}

// wantRecords checks that got holds each record of want once, equal field
// by field, times in UTC, and nothing else, in any order; what names the
// read.
func wantRecords(what string, got, want []revoke.Record) error {
	byID := make(map[revoke.ID]revoke.Record, len(want))
	for _, rec := range want {
		byID[rec.ID] = rec
	}
	seen := make(map[revoke.ID]bool, len(got))
	var errs []error
	for _, rec := range got {
		w, ok := byID[rec.ID]
		switch {
		case seen[rec.ID]:
			errs = append(errs, fmt.Errorf("%s returned record %x twice", what, rec.ID[:4]))
		case !ok:
			errs = append(errs, fmt.Errorf("%s returned record %x, which it should not", what, rec.ID[:4]))
		case !recordsEqual(rec, w):
			errs = append(errs, fmt.Errorf("%s returned %+v, want %+v", what, rec, w))
		case rec.ExpiresAt.Location() != time.UTC || rec.RotatedAt.Location() != time.UTC:
			errs = append(errs, fmt.Errorf("%s returned record %x with times in %v and %v, want UTC", what, rec.ID[:4], rec.ExpiresAt.Location(), rec.RotatedAt.Location()))
		}
		seen[rec.ID] = true
	}
	for _, rec := range want {
		if !seen[rec.ID] {
			errs = append(errs, fmt.Errorf("%s left out record %x", what, rec.ID[:4]))
		}
	}
	return errors.Join(errs...)
}

// wantRevocations checks that got holds the index entry of each record of
// want once, with Seq seq, and nothing else, in any order.
func wantRevocations(what string, got []revoke.Revocation, seq uint64, want ...revoke.Record) error {
	entries := make(map[revoke.ID]revoke.Revocation, len(want))
	for _, rec := range want {
		rec.Seq = seq
		entries[rec.ID] = rec.Revocation()
	}
	var errs []error
	for _, rev := range got {
		w, ok := entries[rev.ID]
		if !ok {
			errs = append(errs, fmt.Errorf("%s returned an entry of record %x at Seq %d, which it should not (twice, or not one to revoke)", what, rev.ID[:4], rev.Seq))
			continue
		}
		if !rev.ExpiresAt.Equal(w.ExpiresAt) || rev.ID != w.ID || rev.Check != w.Check || rev.Seq != w.Seq || rev.Status != w.Status {
			errs = append(errs, fmt.Errorf("%s returned %+v, want %+v", what, rev, w))
		}
		delete(entries, rev.ID)
	}
	for id := range entries {
		errs = append(errs, fmt.Errorf("%s left out record %x", what, id[:4]))
	}
	return errors.Join(errs...)
}

// wantIDs checks that got equals want as sets, each once.
func wantIDs(what string, got, want []revoke.ID) error {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.SortFunc(g, compareIDs)
	slices.SortFunc(w, compareIDs)
	if !slices.Equal(g, w) {
		return fmt.Errorf("%s = %d IDs %s, want %d %s", what, len(got), shortIDs(got), len(want), shortIDs(w))
	}
	return nil
}

// shortIDs names ids by their first bytes, for messages.
func shortIDs(ids []revoke.ID) string {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%x", id[:4])
	}
	b.WriteByte(']')
	return b.String()
}

func compareIDs(a, b revoke.ID) int { return bytes.Compare(a[:], b[:]) }

// ids returns the IDs of recs in ascending order.
func ids(recs []revoke.Record) []revoke.ID {
	out := make([]revoke.ID, 0, len(recs))
	for _, rec := range recs {
		out = append(out, rec.ID)
	}
	slices.SortFunc(out, compareIDs)
	return out
}
