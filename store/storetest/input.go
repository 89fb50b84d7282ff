package storetest

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/internal/harness"
	"github.com/sdkauth/revocation/revoke"
)

// testNextSeqNeverWraps checks the top of the sequence: after a Put of a
// record at the highest Seq every backend keeps (math.MaxInt64, as an
// import may write), NextSeq fails rather than hand out a number at or
// below it (a wrapped 0 would write revocations as live), and a Revoke
// reports the failure and leaves its token live, never "revoked" at a
// sequence that loses it.
func testNextSeqNeverWraps(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	ctx := e.Ctx
	top := revoke.TokenID("top")
	rec := revoke.Record{
		ID: top, Check: revoke.Checksum("top"), Kind: revoke.Access, ClientID: "c1",
		Grant: top, ExpiresAt: e.Clock.Now().Add(time.Hour).UTC(), Seq: math.MaxInt64,
	}
	if err := e.Store.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) }); err != nil {
		t.Fatalf("Put of a record at Seq MaxInt64: %v", err)
	}
	err := e.Store.Update(ctx, func(tx revoke.Tx) error {
		n, err := tx.NextSeq(ctx)
		if err == nil {
			return fmt.Errorf("NextSeq = %d after a stored Seq of MaxInt64, want an error", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	a := e.Issue(revoke.Access, "c1", "", time.Hour)
	if n, err := e.R.Revoke(ctx, a, "c1"); err == nil {
		t.Errorf("Revoke with the sequence exhausted = (%d, nil), want an error", n)
	}
}

// testBadInputAmongGoodWrites checks that input no backend may store (a
// client or subject with a NUL byte or invalid UTF-8) is refused as a
// *FieldError before any store sees it, and that one caller's bad input
// never fails the good callers whose writes share its transaction.
func testBadInputAmongGoodWrites(t *testing.T, open func(*testing.T) revoke.Store) {
	e := setup(t, open)
	ctx := e.Ctx
	bads := []revoke.Token{
		{Kind: revoke.Refresh, ClientID: "c1", Subject: "nul\x00byte"},
		{Kind: revoke.Refresh, ClientID: "latin1-\xe9", Subject: "alice"},
	}
	for round := range 5 {
		var wg sync.WaitGroup
		errs := make([]error, 32)
		for i := range errs {
			wg.Go(func() {
				tok := revoke.Token{Value: harness.Token(), Kind: revoke.Refresh, ClientID: "c1", Subject: "alice"}
				if i == 0 {
					tok = bads[round%len(bads)]
					tok.Value = harness.Token()
				}
				tok.ExpiresAt = e.Clock.Now().Add(time.Hour)
				errs[i] = e.R.Issue(ctx, tok)
			})
		}
		wg.Wait()
		var fe *revoke.FieldError
		if !errors.As(errs[0], &fe) {
			t.Errorf("round %d: Issue of bad input: err = %v, want a *FieldError", round, errs[0])
		}
		for i, err := range errs[1:] {
			if err != nil {
				t.Errorf("round %d: good Issue %d beside a bad one failed: %v", round, i+1, err)
			}
		}
	}
	for _, bad := range []string{"\xe9", "a\x00b"} {
		var fe *revoke.FieldError
		if _, err := e.R.RevokeSubject(ctx, bad); !errors.As(err, &fe) {
			t.Errorf("RevokeSubject(%q): err = %v, want a *FieldError", bad, err)
		}
		if _, err := e.R.RevokeClient(ctx, bad); !errors.As(err, &fe) {
			t.Errorf("RevokeClient(%q): err = %v, want a *FieldError", bad, err)
		}
		if _, err := e.R.Revoke(ctx, "some-token", bad); !errors.As(err, &fe) {
			t.Errorf("Revoke(token, %q): err = %v, want a *FieldError", bad, err)
		}
	}
}
