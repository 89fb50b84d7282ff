package revoke_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// hashKey keys a token "<id>#<anything>" by its id: the part after '#'
// stands for a malleable signature. Tokens without '#', or with an empty id,
// are refused.
func hashKey(token string) (string, bool) {
	id, _, ok := strings.Cut(token, "#")
	return id, ok
}

type testClock struct{ now time.Time }

func (c *testClock) Now() time.Time { return c.now }

func newKeyed(t *testing.T, opts ...revoke.Option) (*revoke.Revoker, *testClock) {
	t.Helper()
	c := &testClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	r, err := revoke.New(memory.New(), append([]revoke.Option{revoke.WithClock(c.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r, c
}

func isRevoked(t *testing.T, r *revoke.Revoker, token string) bool {
	t.Helper()
	ok, err := r.IsRevoked(context.Background(), token)
	if err != nil {
		t.Fatalf("IsRevoked(%q): %v", token, err)
	}
	return ok
}

func TestTokenKeyIdentifiesSpellings(t *testing.T) {
	ctx := context.Background()
	r, c := newKeyed(t, revoke.WithTokenKey(hashKey))
	exp := c.now.Add(time.Hour)
	if err := r.Issue(ctx, revoke.Token{Value: "R#sig1", Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	// The parent is named by another spelling of the same token.
	if err := r.Issue(ctx, revoke.Token{Value: "A#sig1", Kind: revoke.Access, ClientID: "app", Parent: "R#other", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	// The same token under another spelling is the same token.
	if err := r.Issue(ctx, revoke.Token{Value: "A#sig2", Kind: revoke.Access, ClientID: "app", Parent: "R#sig1", ExpiresAt: exp}); err != nil {
		t.Fatalf("re-issue under another spelling: %v", err)
	}
	if isRevoked(t, r, "A#sig3") {
		t.Fatal("revoked before any revocation")
	}
	n, err := r.Revoke(ctx, "R#sig9", "app")
	if err != nil || n != 2 {
		t.Fatalf("Revoke = %d, %v; want 2 (refresh and access), nil", n, err)
	}
	for _, tok := range []string{"R#sig1", "R#", "A#sig1", "A#x", "A#sig1="} {
		if !isRevoked(t, r, tok) {
			t.Errorf("%q not revoked", tok)
		}
	}
	if isRevoked(t, r, "B#sig1") {
		t.Error("an unrelated token is revoked")
	}
	// A parent that is the token itself under another spelling.
	err = r.Issue(ctx, revoke.Token{Value: "C#1", Kind: revoke.Access, ClientID: "app", Parent: "C#2", ExpiresAt: exp})
	if fe := (*revoke.FieldError)(nil); !errors.As(err, &fe) || fe.Field != "Parent" {
		t.Errorf("parent of the same key: %v, want a FieldError of Parent", err)
	}
}

func TestWithoutTokenKeyBytesDiffer(t *testing.T) {
	ctx := context.Background()
	r, c := newKeyed(t)
	if err := r.Issue(ctx, revoke.Token{Value: "A#sig1", Kind: revoke.Access, ClientID: "app", ExpiresAt: c.now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Revoke(ctx, "A#sig1", "app"); err != nil {
		t.Fatal(err)
	}
	if !isRevoked(t, r, "A#sig1") || isRevoked(t, r, "A#sig2") {
		t.Fatal("without a key function a token is its exact bytes")
	}
	// Nil is no key function.
	r2, _ := newKeyed(t, revoke.WithTokenKey(nil))
	if isRevoked(t, r2, "no-hash") {
		t.Fatal("nil key function refused a token")
	}
}

func TestTokenKeyRefused(t *testing.T) {
	ctx := context.Background()
	emptyKey := func(string) (string, bool) { return "", true }
	for name, key := range map[string]func(string) (string, bool){"not ok": hashKey, "empty key": emptyKey} {
		t.Run(name, func(t *testing.T) {
			r, c := newKeyed(t, revoke.WithTokenKey(key))
			exp := c.now.Add(time.Hour)
			err := r.Issue(ctx, revoke.Token{Value: "opaque", Kind: revoke.Access, ClientID: "app", ExpiresAt: exp})
			if fe := (*revoke.FieldError)(nil); !errors.As(err, &fe) || fe.Field != "Value" || !errors.Is(err, revoke.ErrInvalidToken) {
				t.Errorf("Issue: %v, want a FieldError of Value", err)
			}
			if name == "not ok" {
				err = r.Issue(ctx, revoke.Token{Value: "A#1", Kind: revoke.Access, ClientID: "app", Parent: "opaque", ExpiresAt: exp})
				if fe := (*revoke.FieldError)(nil); !errors.As(err, &fe) || fe.Field != "Parent" {
					t.Errorf("Issue with a refused parent: %v, want a FieldError of Parent", err)
				}
				err = r.Rotate(ctx, "opaque", revoke.Token{Value: "B#1", Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp})
				if fe := (*revoke.FieldError)(nil); !errors.As(err, &fe) || fe.Field != "old" {
					t.Errorf("Rotate of a refused token: %v, want a FieldError of old", err)
				}
			}
			if n, err := r.Revoke(ctx, "opaque", "app"); n != 0 || err != nil {
				t.Errorf("Revoke = %d, %v; want 0, nil", n, err)
			}
			got, err := r.IsRevoked(ctx, "opaque")
			if !got || !errors.Is(err, revoke.ErrInvalidToken) {
				t.Errorf("IsRevoked = %v, %v; want true and ErrInvalidToken", got, err)
			}
		})
	}
}

func TestIsRevokedAllocations(t *testing.T) {
	ctx := context.Background()
	r, c := newKeyed(t)
	if err := r.Issue(ctx, revoke.Token{Value: "tok-1", Kind: revoke.Access, ClientID: "app", ExpiresAt: c.now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Revoke(ctx, "tok-1", "app"); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"tok-1", "tok-2"} {
		if n := testing.AllocsPerRun(1000, func() { _, _ = r.IsRevoked(ctx, tok) }); n != 0 {
			t.Errorf("IsRevoked(%q) allocates %v times", tok, n)
		}
	}
	rk, _ := newKeyed(t, revoke.WithTokenKey(hashKey))
	if n := testing.AllocsPerRun(1000, func() { _, _ = rk.IsRevoked(ctx, "no-hash") }); n != 0 {
		t.Errorf("IsRevoked of a refused token allocates %v times", n)
	}
}

// BenchmarkIsRevokedKey measures IsRevoked of a revoked token through a key
// function (beside none, the same tokens and index).
func BenchmarkIsRevokedKey(b *testing.B) {
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		opts []revoke.Option
	}{
		{"None", nil},
		{"Cut", []revoke.Option{revoke.WithTokenKey(hashKey)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r, err := revoke.New(memory.New(), bc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			exp := time.Now().Add(time.Hour)
			toks := make([]string, 1000)
			for i := range toks {
				toks[i] = "tok-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "-" + time.Duration(i).String() + "#sig"
				if err := r.Issue(ctx, revoke.Token{Value: toks[i], Kind: revoke.Access, ClientID: "app", ExpiresAt: exp}); err != nil {
					b.Fatal(err)
				}
				if _, err := r.Revoke(ctx, toks[i], "app"); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if ok, err := r.IsRevoked(ctx, toks[i%len(toks)]); !ok || err != nil {
					b.Fatal("wrong answer")
				}
			}
		})
	}
}
