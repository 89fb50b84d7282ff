package statuslist

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// testBase is the base URL of the test issuers.
const testBase = "https://as.example/statuslists"

// newKey returns a fresh P-256 key.
func newKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// newRevoker returns a Revoker over a memory store, closed at the end of
// the test.
func newRevoker(tb testing.TB, opts ...revoke.Option) *revoke.Revoker {
	tb.Helper()
	rv, err := revoke.New(memory.New(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = rv.Close() })
	return rv
}

// newIssuer returns an Issuer over rv signing with key, closed at the end
// of the test.
func newIssuer(tb testing.TB, rv *revoke.Revoker, key *ecdsa.PrivateKey, opts ...Option) *Issuer {
	tb.Helper()
	is, err := New(context.Background(), rv, testBase, Key{Signer: key, ID: "k1"}, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = is.Close() })
	return is
}

// benchIssuer returns an Issuer of lists of size entries that follows no
// Revoker, for benchmarks of what it serves.
func benchIssuer(tb testing.TB, size int) *Issuer {
	tb.Helper()
	s, err := newJWSSigner(Key{Signer: newKey(tb), ID: "k1"})
	if err != nil {
		tb.Fatal(err)
	}
	o := defaultOptions()
	o.size = size
	return &Issuer{
		o: o, base: testBase, path: "/statuslists/", signer: s,
		zero:  base64.RawURLEncoding.EncodeToString(zeroList(size)),
		lists: make(map[uint64]*list),
	}
}

// served is a Status List Token fetched from an Issuer and verified.
type served struct {
	header map[string]any
	claims tokenClaims
	array  Array
	etag   string
}

// fetch GETs uri from is, verifies the token's ES256 signature with pub
// (crypto/ecdsa.VerifyASN1 of r and s, as a relying party would), and
// decodes it.
func fetch(t *testing.T, is *Issuer, uri string, pub *ecdsa.PublicKey) served {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, uri, nil)
	req.Header.Set("Accept", MediaType)
	rec := httptest.NewRecorder()
	is.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", uri, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != MediaType {
		t.Fatalf("Content-Type = %q", ct)
	}
	return verify(t, rec.Body.String(), pub, rec.Header().Get("ETag"))
}

// verify checks the compact JWS tok with pub and decodes it.
func verify(t *testing.T, tok string, pub *ecdsa.PublicKey, etag string) served {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature: %d bytes, %v", len(sig), err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		t.Fatal("the signature does not verify")
	}
	var out served
	out.etag = etag
	decodeSegment(t, parts[0], &out.header)
	decodeSegment(t, parts[1], &out.claims)
	if out.array, err = Decode(out.claims.StatusList.Lst); err != nil {
		t.Fatal(err)
	}
	return out
}

func decodeSegment(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// status returns entry e's status in the list is serves now.
func status(t *testing.T, is *Issuer, e Entry, pub *ecdsa.PublicKey) uint8 {
	t.Helper()
	s := fetch(t, is, e.URI, pub)
	v, err := s.array.Status(e.Ref.Index)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitStatus polls the list of e until entry e reads want, failing after
// a generous deadline: the issuer applies revocations from its own
// goroutine, so a test cannot know the moment, only that it comes.
func waitStatus(t *testing.T, is *Issuer, e Entry, pub *ecdsa.PublicKey, want uint8) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for status(t, is, e, pub) != want {
		if time.Now().After(deadline) {
			t.Fatalf("entry %d of %s never read %d", e.Ref.Index, e.URI, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// issue allocates an entry from is and issues a token with it.
func issue(t *testing.T, rv *revoke.Revoker, is *Issuer, tok revoke.Token) Entry {
	t.Helper()
	e, err := is.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	tok.Status = e.Ref
	if tok.ClientID == "" {
		tok.ClientID = "client"
	}
	if tok.Kind == 0 {
		tok.Kind = revoke.Access
	}
	if tok.ExpiresAt.IsZero() {
		tok.ExpiresAt = time.Now().Add(time.Hour)
	}
	if err := rv.Issue(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	return e
}
