package revoke_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// seqSetterStore is a memory store whose write transactions are
// revoke.SeqSetters (a Get and a Put of each record, as the contract
// says). It counts the Puts and logs the SetSeq calls.
type seqSetterStore struct {
	*memory.Store
	mu    sync.Mutex
	puts  int
	calls [][]revoke.ID
}

func (s *seqSetterStore) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	return s.Store.Update(ctx, func(tx revoke.Tx) error { return fn(&seqSetterTx{Tx: tx, s: s}) })
}

type seqSetterTx struct {
	revoke.Tx
	s *seqSetterStore
}

func (t *seqSetterTx) Put(ctx context.Context, rec revoke.Record) error {
	t.s.mu.Lock()
	t.s.puts++
	t.s.mu.Unlock()
	return t.Tx.Put(ctx, rec)
}

func (t *seqSetterTx) SetSeq(ctx context.Context, seq uint64, ids []revoke.ID) error {
	t.s.mu.Lock()
	t.s.calls = append(t.s.calls, append([]revoke.ID(nil), ids...))
	t.s.mu.Unlock()
	for _, id := range ids {
		rec, found, err := t.Tx.Get(ctx, id)
		if err != nil {
			return err
		}
		if found {
			rec.Seq = seq
			if err := t.Tx.Put(ctx, rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// reset forgets the counts so far and returns them.
func (s *seqSetterStore) reset() (puts int, calls [][]revoke.ID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	puts, calls = s.puts, s.calls
	s.puts, s.calls = 0, nil
	return puts, calls
}

// TestRevocationsUseSetSeq checks that a Revoker over a store whose Tx is a
// revoke.SeqSetter writes the revocations of records it read with one
// SetSeq call (a grant's cascade, an access token alone, a grant revoked
// by reuse) and a record it creates (RevokeUntracked of a token never
// issued) with Put, and that either way the tokens read revoked.
func TestRevocationsUseSetSeq(t *testing.T) {
	ctx := context.Background()
	s := &seqSetterStore{Store: memory.New()}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	exp := time.Now().Add(time.Hour)
	issue := func(value string, kind revoke.Kind, parent string) {
		t.Helper()
		if err := r.Issue(ctx, revoke.Token{Value: value, Kind: kind, ClientID: "app", Parent: parent, ExpiresAt: exp}); err != nil {
			t.Fatalf("Issue %s: %v", value, err)
		}
	}
	revoked := func(values ...string) {
		t.Helper()
		for _, v := range values {
			if ok, err := r.IsRevoked(ctx, v); err != nil || !ok {
				t.Errorf("IsRevoked(%s) = (%v, %v), want (true, nil)", v, ok, err)
			}
		}
	}
	// wantCalls checks the writes since the last check: no Put, and one
	// SetSeq of n IDs.
	wantCalls := func(step string, n int) {
		t.Helper()
		puts, calls := s.reset()
		if puts != 0 || len(calls) != 1 || len(calls[0]) != n {
			lens := make([]int, len(calls))
			for i, c := range calls {
				lens[i] = len(c)
			}
			t.Errorf("%s: %d Puts and SetSeq calls of %v IDs, want no Put and one call of %d", step, puts, lens, n)
		}
	}

	issue("refresh-1", revoke.Refresh, "")
	for _, a := range []string{"access-1", "access-2", "access-3"} {
		issue(a, revoke.Access, "refresh-1")
	}
	issue("refresh-2", revoke.Refresh, "")
	issue("access-4", revoke.Access, "refresh-2")
	s.reset()

	if n, err := r.Revoke(ctx, "access-4", "app"); err != nil || n != 1 {
		t.Fatalf("Revoke access-4 = (%d, %v), want (1, nil)", n, err)
	}
	wantCalls("Revoke of an access token", 1)
	revoked("access-4")

	if n, err := r.Revoke(ctx, "refresh-1", "app"); err != nil || n != 4 {
		t.Fatalf("Revoke refresh-1 = (%d, %v), want (4, nil)", n, err)
	}
	wantCalls("Revoke of a grant of 4", 4)
	revoked("refresh-1", "access-1", "access-2", "access-3")

	// Reuse of a rotated refresh token revokes its grant (refresh-2's,
	// access-4 excluded: it is revoked already).
	if err := r.Rotate(ctx, "refresh-2", revoke.Token{Value: "refresh-3", Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp}); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	s.reset()
	if err := r.Rotate(ctx, "refresh-2", revoke.Token{Value: "refresh-4", Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp}); err == nil {
		t.Fatal("Rotate of a spent token succeeded")
	}
	if _, calls := s.reset(); len(calls) != 1 || len(calls[0]) != 2 {
		t.Errorf("reuse: SetSeq calls %d, want one of 2 IDs (refresh-2, refresh-3)", len(calls))
	}
	revoked("refresh-2", "refresh-3")

	// A token never issued gets a new record: Put, no SetSeq.
	if n, err := r.RevokeUntracked(ctx, "stranger", "app", exp); err != nil || n != 1 {
		t.Fatalf("RevokeUntracked = (%d, %v), want (1, nil)", n, err)
	}
	if puts, calls := s.reset(); puts != 1 || len(calls) != 0 {
		t.Errorf("RevokeUntracked of a new token: %d Puts and %d SetSeq calls, want 1 and 0", puts, len(calls))
	}
	revoked("stranger")
}
