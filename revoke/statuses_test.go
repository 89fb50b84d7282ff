package revoke_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// TestStatusesFollowRevocations checks that a token's Status List entry is
// stored with it and reaches Statuses and the change log when the token is
// revoked, by cascade too, and that a retried Issue must repeat it.
func TestStatusesFollowRevocations(t *testing.T) {
	ctx := context.Background()
	r, err := revoke.New(memory.New())
	mustDo(t, err)
	defer r.Close()
	exp := time.Now().Add(time.Hour)
	ref := func(i uint32) revoke.StatusRef { return revoke.StatusRef{List: 7, Index: i} }
	mustDo(t, r.Issue(ctx, revoke.Token{Value: "R", Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp, Status: ref(1)}))
	mustDo(t, r.Issue(ctx, revoke.Token{Value: "A", Kind: revoke.Access, ClientID: "app", Parent: "R", ExpiresAt: exp, Status: ref(2)}))
	mustDo(t, r.Issue(ctx, revoke.Token{Value: "B", Kind: revoke.Access, ClientID: "app", ExpiresAt: exp, Status: ref(3)}))
	if err := r.Issue(ctx, revoke.Token{Value: "B", Kind: revoke.Access, ClientID: "app", ExpiresAt: exp, Status: ref(4)}); !errors.Is(err, revoke.ErrAlreadyIssued) {
		t.Errorf("Issue again with another Status: %v, want ErrAlreadyIssued", err)
	}
	var fe *revoke.FieldError
	if err := r.Issue(ctx, revoke.Token{Value: "C", Kind: revoke.Access, ClientID: "app", ExpiresAt: exp, Status: revoke.StatusRef{Index: 5}}); !errors.As(err, &fe) || fe.Field != "Status" {
		t.Errorf("Issue with an index but no list: %v, want a *FieldError for Status", err)
	}
	_, head := r.ChangeRange()
	if _, err := r.Revoke(ctx, "R", "app"); err != nil {
		t.Fatal(err)
	}
	changes, err := r.ChangesSince(head, make([]revoke.Revocation, 10))
	mustDo(t, err)
	var logged []revoke.StatusRef
	for _, c := range changes {
		logged = append(logged, c.Status)
	}
	want := []revoke.StatusRef{ref(1), ref(2)}
	sortRefs(logged)
	if !slices.Equal(logged, want) {
		t.Errorf("change log statuses = %v, want %v", logged, want)
	}
	var stored []revoke.StatusRef
	pos, err := r.Statuses(ctx, func(b []revoke.StatusRef) error {
		stored = append(stored, b...)
		return nil
	})
	mustDo(t, err)
	sortRefs(stored)
	if !slices.Equal(stored, want) {
		t.Errorf("Statuses = %v, want %v (the revoked tokens' entries alone)", stored, want)
	}
	if _, h := r.ChangeRange(); pos != h {
		t.Errorf("Statuses position = %d, want the head %d", pos, h)
	}
}

func sortRefs(s []revoke.StatusRef) {
	slices.SortFunc(s, func(a, b revoke.StatusRef) int { return int(a.Index) - int(b.Index) })
}
