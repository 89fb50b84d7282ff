package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// lookalikes are client IDs and subjects that differ byte for byte but that
// a collation other than a binary one takes for equal: in case, in trailing
// or leading spaces, in Unicode normalization (NFC and NFD), in accents, and
// in other non-ASCII bytes (fullwidth letters, a no-break space, ß and ss).
var lookalikes = []string{
	"alice", "Alice", "ALICE", "alice ", "alice  ", " alice", "alice\t", "alice\u00a0", "\uff41lice",
	"jos\u00e9", "jose\u0301", "jose", "JOS\u00c9", "stra\u00dfe", "strasse",
}

// testByteExactStrings: client IDs and subjects are matched and stored byte
// for byte. Each lookalike owns a grant as its client and as its subject;
// Get reads each back as it was, Grants lists each one's grant alone, and
// RevokeSubject and RevokeClient of one revoke its grant and no other.
func testByteExactStrings(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	grants := make([]grant, len(lookalikes))
	for i, key := range lookalikes {
		r0 := e.IssueAs(revoke.Refresh, key, key, "", 24*time.Hour)
		a0 := e.IssueAs(revoke.Access, key, "", r0, time.Hour)
		grants[i] = grant{Client: key, R: []string{r0}, A: []string{a0}}
	}
	checkStringsRoundTrip(e, grants)
	checkGrantsBytewise(e, grants)
	checkRevokeOwnerBytewise(e, grants)
}

// checkStringsRoundTrip: Get reads each lookalike back as it was Put.
func checkStringsRoundTrip(e *env, grants []grant) {
	e.T.Helper()
	for i, g := range grants {
		for _, tok := range g.All() {
			rec, found := e.Record(tok)
			if !found || rec.ClientID != lookalikes[i] || rec.Subject != lookalikes[i] {
				e.T.Fatalf("Tx.Get: a record Put with ClientID and Subject %q read back as %q and %q (found %v); "+
					"the contract says every field reads back as it was Put, byte for byte", lookalikes[i], rec.ClientID, rec.Subject, found)
			}
		}
	}
}

// checkGrantsBytewise: Grants lists each lookalike's grant alone, as a
// subject and as a client.
func checkGrantsBytewise(e *env, grants []grant) {
	e.T.Helper()
	for i, key := range lookalikes {
		for _, by := range []revoke.Owner{revoke.BySubject, revoke.ByClient} {
			got := grantsOf(e, by, key)
			if want := revoke.TokenID(grants[i].R[0]); len(got) != 1 || got[0] != want {
				e.T.Errorf("Tx.GrantsOf(%v, %q) listed the grants of %q, want only the grant of %q: keys match byte for byte, "+
					"so ClientID and Subject must not use a collation that ignores case, accents, trailing spaces or Unicode "+
					"normalization (a _ci or PAD SPACE one): use VARBINARY or a binary NO PAD collation (MariaDB's "+
					"utf8mb4_nopad_bin; utf8mb4_bin pads trailing spaces)",
					by, key, ownersOf(got, grants), key)
			}
		}
		if e.T.Failed() {
			e.T.FailNow()
		}
	}
}

// checkRevokeOwnerBytewise revokes each lookalike's grant in turn, as a
// subject or as a client: it alone is revoked, and the others stay live.
func checkRevokeOwnerBytewise(e *env, grants []grant) {
	e.T.Helper()
	for i, key := range lookalikes {
		how, revokeOwner := "RevokeSubject", e.R.RevokeSubject
		if i%2 == 1 {
			how, revokeOwner = "RevokeClient", e.R.RevokeClient
		}
		if n, err := revokeOwner(e.Ctx, key); err != nil || n != 2 {
			e.T.Fatalf("%s(%q) = (%d, %v), want (2, nil): the grant of %q alone", how, key, n, err, key)
		}
		e.WantRevoked(how+"("+key+")", grants[i].All()...)
		for j := i + 1; j < len(grants); j++ {
			for _, tok := range grants[j].All() {
				if rec, _ := e.Record(tok); rec.Revoked() {
					e.T.Fatalf("%s(%q) revoked a token of %q: Tx.GrantsOf must match keys byte for byte", how, key, lookalikes[j])
				}
			}
		}
	}
}

// grantsOf lists the grants of an owner, up to 100.
func grantsOf(e *env, by revoke.Owner, key string) []revoke.ID {
	e.T.Helper()
	var got []revoke.ID
	err := e.Store.View(e.Ctx, func(tx revoke.Tx) error {
		var err error
		got, err = tx.GrantsOf(e.Ctx, by, key, revoke.ID{}, 100)
		return err
	})
	if err != nil {
		e.T.Fatalf("Tx.GrantsOf(%v, %q): %v", by, key, err)
	}
	return got
}

// ownersOf names the lookalikes whose grants are among ids.
func ownersOf(ids []revoke.ID, grants []grant) []string {
	var names []string
	for i, g := range grants {
		if slices.Contains(ids, revoke.TokenID(g.R[0])) {
			names = append(names, lookalikes[i])
		}
	}
	return names
}
