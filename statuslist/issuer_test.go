package statuslist

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// TestNewRefusesBadOptions gives New every kind of bad configuration and
// expects ErrInvalidOption, never an Issuer.
func TestNewRefusesBadOptions(t *testing.T) {
	rv := newRevoker(t)
	key := newKey(t)
	good := Key{Signer: key, ID: "k1"}
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		base string
		key  Key
		opts []Option
	}{
		{"list size 0", testBase, good, []Option{WithListSize(0)}},
		{"list size not a multiple of 8", testBase, good, []Option{WithListSize(1001)}},
		{"list size too large", testBase, good, []Option{WithListSize(MaxListSize + 8)}},
		{"ttl under a second", testBase, good, []Option{WithTTL(time.Millisecond)}},
		{"lifetime not above the ttl", testBase, good, []Option{WithTTL(time.Hour), WithLifetime(time.Hour)}},
		{"reload interval 0", testBase, good, []Option{WithReloadInterval(0)}},
		{"negative max lag", testBase, good, []Option{WithMaxLag(-time.Second)}},
		{"nil logger", testBase, good, []Option{WithLogger(nil)}},
		{"nil clock", testBase, good, []Option{WithClock(nil)}},
		{"nil option", testBase, good, []Option{nil}},
		{"relative base URL", "/statuslists", good, nil},
		{"ftp base URL", "ftp://as.example/statuslists", good, nil},
		{"base URL with a query", testBase + "?a=b", good, nil},
		{"nil signer", testBase, Key{ID: "k1"}, nil},
		{"empty kid", testBase, Key{Signer: key}, nil},
		{"P-521 key", testBase, Key{Signer: p521, ID: "k1"}, nil},
		{"RSA key", testBase, Key{Signer: rsaKey, ID: "k1"}, nil},
	}
	for _, c := range cases {
		is, err := New(context.Background(), rv, c.base, c.key, c.opts...)
		if !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: New = %v, %v; want ErrInvalidOption", c.name, is, err)
		}
		if is != nil {
			_ = is.Close()
		}
	}
	if _, err := New(context.Background(), nil, testBase, good); !errors.Is(err, ErrInvalidOption) {
		t.Errorf("nil Revoker: %v, want ErrInvalidOption", err)
	}
}

// TestBaseURLMakesValidURIs gives New base URLs that url.Parse accepts but
// whose URIs, made by appending a list number, would not name the list
// (an empty query or fragment delimiter, which would take the number in)
// or would not be URIs (a space): New refuses the first kind, and the
// URIs of the second are escaped, reach the Issuer and find their list.
func TestBaseURLMakesValidURIs(t *testing.T) {
	rv := newRevoker(t)
	priv := newKey(t)
	key := Key{Signer: priv, ID: "k1"}
	for _, base := range []string{testBase + "?", testBase + "/?", testBase + "#", "https://as.example/?"} {
		if is, err := New(context.Background(), rv, base, key); !errors.Is(err, ErrInvalidOption) {
			if is != nil {
				t.Errorf("base URL %q: an Issuer of URIs such as %q", base, is.URI(0xab))
				_ = is.Close()
			}
			t.Errorf("base URL %q: New = %v, want ErrInvalidOption", base, err)
		}
	}
	is, err := New(context.Background(), rv, "https://as.example/status lists/", key)
	if err != nil {
		t.Fatal(err)
	}
	defer is.Close()
	uri := is.URI(0xab)
	u, err := url.Parse(uri)
	if err != nil || strings.ContainsAny(uri, " ?#") || u.EscapedPath() != is.Path()+"00000000000000ab" {
		t.Fatalf("URI %q (path %q, %v) is not the Issuer's path %q and the list number", uri, u.EscapedPath(), err, is.Path())
	}
	if s := fetch(t, is, uri, &priv.PublicKey); s.claims.Sub != uri {
		t.Fatalf("sub %q, want %q", s.claims.Sub, uri)
	}
}

// TestAllocateDense hands out a list's indices in order, then starts a new
// list with another random number.
func TestAllocateDense(t *testing.T) {
	rv := newRevoker(t)
	is := newIssuer(t, rv, newKey(t), WithListSize(64))
	uri := regexp.MustCompile(`^` + regexp.QuoteMeta(testBase) + `/[0-9a-f]{16}$`)
	var first uint64
	for i := range 64 {
		e, err := is.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = e.Ref.List
		}
		if e.Ref.List != first || e.Ref.Index != uint32(i) || first == 0 {
			t.Fatalf("allocation %d = %+v, want list %x index %d", i, e.Ref, first, i)
		}
		if !uri.MatchString(e.URI) || e.URI != is.URI(first) {
			t.Fatalf("URI %q", e.URI)
		}
	}
	e, err := is.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	if e.Ref.List == first || e.Ref.List == 0 || e.Ref.Index != 0 {
		t.Fatalf("allocation after a full list = %+v, want index 0 of a new list", e.Ref)
	}
	if c := e.Claim(); c.StatusList.Idx != 0 || c.StatusList.URI != is.URI(e.Ref.List) {
		t.Fatalf("Claim = %+v", c)
	}
}

// TestAllocateRandom hands out every index of a list once, not in order,
// with WithRandomIndices.
func TestAllocateRandom(t *testing.T) {
	for _, size := range []int{8, 1000, 4096} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			rv := newRevoker(t)
			is := newIssuer(t, rv, newKey(t), WithListSize(size), WithRandomIndices())
			refs := allocateList(t, is, size)
			seen := make(map[uint32]bool)
			inOrder := true
			for i, ref := range refs {
				if ref.List != refs[0].List || int(ref.Index) >= size || seen[ref.Index] {
					t.Fatalf("allocation %d = %+v: another list, out of range or seen", i, ref)
				}
				seen[ref.Index] = true
				inOrder = inOrder && ref.Index == uint32(i)
			}
			if inOrder && size > 8 {
				t.Fatal("indices were handed out in order")
			}
			if e, _ := is.Allocate(); e.Ref.List == refs[0].List {
				t.Fatal("a full list handed out another index")
			}
		})
	}
}

// allocateList allocates n entries.
func allocateList(t *testing.T, is *Issuer, n int) []revoke.StatusRef {
	t.Helper()
	refs := make([]revoke.StatusRef, n)
	for i := range refs {
		e, err := is.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		refs[i] = e.Ref
	}
	return refs
}

// TestAllocateAfterClose fails with ErrClosed.
func TestAllocateAfterClose(t *testing.T) {
	rv := newRevoker(t)
	is := newIssuer(t, rv, newKey(t))
	if err := is.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := is.Allocate(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Allocate after Close: %v, want ErrClosed", err)
	}
	if err := is.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
