package storetest

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// pagingGrants stores 25 grants of subject "pager", of clients "pc0" and
// "pc1" in turn, of one to three records each, and returns each client's
// grants and all of them, in ascending order.
func pagingGrants(f *fixture) (byClient [2][]revoke.ID, all []revoke.ID) {
	var recs []revoke.Record
	for g := range 25 {
		client := fmt.Sprintf("pc%d", g%2)
		root := withOwners(f.rec(fmt.Sprintf("pager-%d", g), revoke.ID{}), client, "pager")
		recs = append(recs, root)
		for a := range g % 3 {
			recs = append(recs, withOwners(f.rec(fmt.Sprintf("pager-%d-%d", g, a), root.ID), client, "pager"))
		}
		byClient[g%2] = append(byClient[g%2], root.ID)
		all = append(all, root.ID)
	}
	f.put(recs...)
	slices.SortFunc(byClient[0], compareIDs)
	slices.SortFunc(byClient[1], compareIDs)
	slices.SortFunc(all, compareIDs)
	return byClient, all
}

// testGrantsOfPaging: GrantsOf returns at most limit grants, none for a
// limit <= 0, in ascending order, strictly after its after (a listed ID or
// not), so that pages of any size read each grant once.
func testGrantsOfPaging(f *fixture) {
	byClient, all := pagingGrants(f)
	f.view(func(tx revoke.Tx) error {
		for _, c := range []struct {
			by   revoke.Owner
			key  string
			want []revoke.ID
		}{{revoke.BySubject, "pager", all}, {revoke.ByClient, "pc0", byClient[0]}, {revoke.ByClient, "pc1", byClient[1]}} {
			if err := checkGrantsPaging(f, tx, c.by, c.key, c.want); err != nil {
				f.t.Error(err)
			}
		}
		return nil
	})
}

// checkGrantsPaging checks the pages of GrantsOf(by, key), want the
// owner's grants in ascending order.
func checkGrantsPaging(f *fixture, tx revoke.Tx, by revoke.Owner, key string, want []revoke.ID) error {
	list := func(after revoke.ID, limit int) ([]revoke.ID, error) {
		got, err := tx.GrantsOf(f.ctx, by, key, after, limit)
		if err != nil {
			return nil, fmt.Errorf("GrantsOf(%v %q): %w", by, key, err)
		}
		if len(got) > max(limit, 0) {
			return nil, fmt.Errorf("GrantsOf(%v %q) with limit %d returned %d grants", by, key, limit, len(got))
		}
		return got, nil
	}
	for _, limit := range []int{1, 3, 7, len(want), 100} {
		var paged []revoke.ID
		var after revoke.ID
		for page := 0; page <= len(want); page++ {
			got, err := list(after, limit)
			if err != nil {
				return err
			}
			paged = append(paged, got...)
			if len(got) < limit {
				break
			}
			after = got[len(got)-1]
		}
		if !slices.Equal(paged, want) {
			return fmt.Errorf("GrantsOf(%v %q) in pages of %d = %s, want %s: ascending, each once, resuming strictly after the last", by, key, limit, shortIDs(paged), shortIDs(want))
		}
	}
	if err := checkGrantsAfters(list, by, key, want); err != nil {
		return err
	}
	for _, limit := range []int{0, -1} {
		if got, err := list(revoke.ID{}, limit); err != nil || len(got) != 0 {
			return fmt.Errorf("GrantsOf(%v %q) with limit %d = %d grants (err %v), want none", by, key, limit, len(got), err)
		}
	}
	return nil
}

// checkGrantsAfters checks that list after each grant of want, and after
// an ID just above it, reports the grants above it.
func checkGrantsAfters(list func(revoke.ID, int) ([]revoke.ID, error), by revoke.Owner, key string, want []revoke.ID) error {
	for i, after := range want {
		for _, a := range aftersOf(after) {
			got, err := list(a, 100)
			if err != nil {
				return err
			}
			if !slices.Equal(got, want[i+1:]) {
				return fmt.Errorf("GrantsOf(%v %q) after the %d-th grant's ID (or just above it) = %d grants, want the %d above it: after is exclusive", by, key, i+1, len(got), len(want)-i-1)
			}
		}
	}
	return nil
}

// testGrantsOfOneEntry: a grant of many records, live, revoked and
// expired, is listed once, under its subject and its client.
func testGrantsOfOneEntry(f *fixture) {
	root := f.rec("root", revoke.ID{})
	recs := []revoke.Record{root}
	for i := range 6 {
		rec := f.rec(fmt.Sprintf("a%d", i), root.ID)
		rec.Seq = uint64(i % 2 * (i + 1))
		if i%3 == 0 {
			rec.ExpiresAt = f.now.Add(-time.Hour)
		}
		recs = append(recs, rec)
	}
	f.put(recs...)
	f.view(func(tx revoke.Tx) error { return f.ownedGrants(tx, "of a grant of 7 records", root.ID) })
}

// testGrantsOfOwners: GrantsOf matches the field by names, the whole key
// and nothing else; a grant without a subject is listed by its client
// only; an empty subject lists nothing; an unknown Owner is an error; a
// grant whose records are all revoked or expired is still listed.
func testGrantsOfOwners(f *fixture) {
	alice := f.rec("alice", revoke.ID{})
	bob := withOwners(f.rec("bob", revoke.ID{}), "c2", "bob")
	anon := withOwners(f.rec("anon", revoke.ID{}), "c3", "")
	crossed := withOwners(f.rec("crossed", revoke.ID{}), "alice", "c1") // client and subject swapped
	spent := withOwners(f.rec("spent", revoke.ID{}), "c2", "bob")
	spent.Seq, spent.ExpiresAt = 5, f.now.Add(-time.Hour)
	f.put(alice, bob, anon, crossed, spent)
	f.view(func(tx revoke.Tx) error {
		var errs []error
		for _, c := range []struct {
			by   revoke.Owner
			key  string
			want []revoke.ID
		}{
			{revoke.BySubject, "alice", []revoke.ID{alice.ID}},
			{revoke.ByClient, "c1", []revoke.ID{alice.ID}},
			{revoke.BySubject, "bob", []revoke.ID{bob.ID, spent.ID}},
			{revoke.ByClient, "c2", []revoke.ID{bob.ID, spent.ID}},
			{revoke.ByClient, "c3", []revoke.ID{anon.ID}},
			{revoke.BySubject, "", nil},
			{revoke.BySubject, "alic", nil},
			{revoke.BySubject, "alice2", nil},
			{revoke.ByClient, "c", nil},
			{revoke.BySubject, "c1", []revoke.ID{crossed.ID}},
			{revoke.ByClient, "alice", []revoke.ID{crossed.ID}},
		} {
			got, err := tx.GrantsOf(f.ctx, c.by, c.key, revoke.ID{}, 10)
			if err != nil {
				return fmt.Errorf("GrantsOf(%v %q): %w", c.by, c.key, err)
			}
			errs = append(errs, wantIDs(fmt.Sprintf("GrantsOf(%v %q)", c.by, c.key), got, c.want))
		}
		for _, by := range []revoke.Owner{0, 3} {
			if _, err := tx.GrantsOf(f.ctx, by, "alice", revoke.ID{}, 10); err == nil {
				errs = append(errs, fmt.Errorf("GrantsOf(%v) returned no error; an unknown Owner is an error", by))
			}
		}
		return errors.Join(errs...)
	})
}

// testGrantsOfOwnWrites: GrantsOf in an Update sees the grants its Puts
// added and its Deletes dropped, and a rolled-back Put leaves no entry.
func testGrantsOfOwnWrites(f *fixture) {
	kept, dropped, added := f.rec("kept", revoke.ID{}), f.rec("dropped", revoke.ID{}), f.rec("added", revoke.ID{})
	f.put(kept, dropped)
	f.inAndAfter(func(tx revoke.Tx) error {
		if _, err := tx.GrantsOf(f.ctx, revoke.BySubject, "alice", revoke.ID{}, 10); err != nil {
			return err // read first: a store must not answer the later reads from this one
		}
		if err := tx.Put(f.ctx, []revoke.Record{added}); err != nil {
			return err
		}
		return tx.Delete(f.ctx, []revoke.ID{dropped.ID})
	}, func(tx revoke.Tx, when string) error {
		got, err := tx.GrantsOf(f.ctx, revoke.BySubject, "alice", revoke.ID{}, 10)
		if err != nil {
			return err
		}
		return wantIDs("GrantsOf after a Put of a new grant and the Delete of another, "+when, got, []revoke.ID{kept.ID, added.ID})
	})
	errRollback := errors.New("roll back")
	ghost := withOwners(f.rec("ghost", revoke.ID{}), "ghost-client", "ghost")
	if err := f.s.Update(f.ctx, func(tx revoke.Tx) error {
		if err := tx.Put(f.ctx, []revoke.Record{ghost}); err != nil {
			return err
		}
		return errRollback
	}); !errors.Is(err, errRollback) {
		f.t.Fatalf("Update whose fn failed: err = %v, want fn's error", err)
	}
	f.view(func(tx revoke.Tx) error {
		got, err := tx.GrantsOf(f.ctx, revoke.ByClient, "ghost-client", revoke.ID{}, 10)
		if err != nil {
			return err
		}
		return wantIDs("GrantsOf(client) of a rolled-back Put", got, nil)
	})
}
