package jwtkey_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/jwtkey"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

var b64 = base64.RawURLEncoding

// es256 signs claims as a compact JWS with ES256 and returns the token and
// the public key.
func es256(t testing.TB, claims map[string]any) (string, *ecdsa.PublicKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := b64.EncodeToString([]byte(`{"alg":"ES256","typ":"at+jwt"}`)) + "." + b64.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + b64.EncodeToString(rs(r, s)), &key.PublicKey
}

func rs(r, s *big.Int) []byte {
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return sig
}

// verify checks an ES256 JWS the way a JWT library does: the signature over
// the first two segments as presented, decoded leniently (unused bits
// ignored, as Go's and most decoders do).
func verify(token string, pub *ecdsa.PublicKey) bool {
	i := strings.LastIndexByte(token, '.')
	sig, err := b64.DecodeString(token[i+1:])
	if err != nil || len(sig) != 64 {
		return false
	}
	digest := sha256.Sum256([]byte(token[:i]))
	return ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
}

// malleate returns two other spellings of a valid ES256 token that verify
// too: the signature (r, n−s), and the signature with the unused low bits of
// its last base64url character set.
func malleate(t testing.TB, token string) (negated, padded string) {
	t.Helper()
	i := strings.LastIndexByte(token, '.')
	sig, err := b64.DecodeString(token[i+1:])
	if err != nil {
		t.Fatal(err)
	}
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	negS := new(big.Int).Sub(elliptic.P256().Params().N, s)
	negated = token[:i+1] + b64.EncodeToString(rs(r, negS))
	// 64 bytes are 86 characters carrying 516 bits: the last character's 4
	// low bits are unused.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, token[len(token)-1])
	padded = token[:len(token)-1] + string(alphabet[last|0x0f])
	if padded == token {
		padded = token[:len(token)-1] + string(alphabet[last&^0x0f|0x01])
	}
	return negated, padded
}

// TestMalleatedJWT is why the key function exists: the same JWT, spelled
// differently, verifies and must stay revoked. Keyed by its bytes, the
// revocation misses it.
func TestMalleatedJWT(t *testing.T) {
	ctx := context.Background()
	exp := time.Now().Add(time.Hour)
	token, pub := es256(t, map[string]any{"iss": "https://as.example", "jti": "a1b2c3", "sub": "alice", "exp": exp.Unix()})
	negated, padded := malleate(t, token)
	for name, tok := range map[string]string{"original": token, "s to n-s": negated, "padding bits": padded} {
		if !verify(tok, pub) {
			t.Fatalf("%s spelling does not verify", name)
		}
	}
	if negated == token || padded == token {
		t.Fatal("malleated spelling equals the original")
	}

	for _, keyed := range []bool{true, false} {
		var opts []revoke.Option
		if keyed {
			opts = append(opts, revoke.WithTokenKey(jwtkey.KeyOrOpaque))
		}
		r, err := revoke.New(memory.New(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Issue(ctx, revoke.Token{Value: token, Kind: revoke.Access, ClientID: "app", ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		if n, err := r.Revoke(ctx, token, "app"); n != 1 || err != nil {
			t.Fatalf("Revoke = %d, %v", n, err)
		}
		for name, tok := range map[string]string{"s to n-s": negated, "padding bits": padded} {
			got, err := r.IsRevoked(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			if got != keyed {
				t.Errorf("keyed %v: %s spelling revoked = %v, want %v", keyed, name, got, keyed)
			}
		}
		_ = r.Close()
	}
}

// TestDenyListByJTI revokes a JWT the server never recorded, by its claims.
func TestDenyListByJTI(t *testing.T) {
	ctx := context.Background()
	r, err := revoke.New(memory.New(), revoke.WithTokenKey(jwtkey.KeyOrOpaque))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	exp := time.Now().Add(time.Hour)
	token, _ := es256(t, map[string]any{"iss": "https://as.example", "jti": "j-9", "exp": exp.Unix()})
	negated, _ := malleate(t, token)
	if n, err := r.RevokeUntracked(ctx, jwtkey.For("https://as.example", "j-9"), "app", exp); n != 1 || err != nil {
		t.Fatalf("RevokeUntracked = %d, %v", n, err)
	}
	for _, tok := range []string{token, negated} {
		if got, err := r.IsRevoked(ctx, tok); !got || err != nil {
			t.Errorf("IsRevoked = %v, %v; want true", got, err)
		}
	}
	other, _ := es256(t, map[string]any{"iss": "https://other.example", "jti": "j-9"})
	if got, err := r.IsRevoked(ctx, other); got || err != nil {
		t.Errorf("same jti of another issuer: %v, %v; want false", got, err)
	}
}

func jws(payload string) string {
	return b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." + b64.EncodeToString([]byte(payload)) + ".c2ln"
}

func TestKey(t *testing.T) {
	want := jwtkey.For("i", "j")
	for _, tc := range []struct {
		name, token string
		ok          bool
	}{
		{"iss and jti", jws(`{"iss":"i","jti":"j","exp":1}`), true},
		{"order", jws(`{"jti":"j","iss":"i"}`), true},
		{"escaped names", jws(`{"\u0069ss":"i","j\u0074i":"\u006a"}`), true},
		{"padded payload", padSeg(jws(`{"iss":"i","jti":"j","a":12}`)), true},
		{"no jti", jws(`{"iss":"i"}`), false},
		{"empty jti", jws(`{"iss":"i","jti":""}`), false},
		{"jti not a string", jws(`{"iss":"i","jti":5}`), false},
		{"iss not a string", jws(`{"iss":null,"jti":"j"}`), false},
		{"jti twice", jws(`{"iss":"i","jti":"j","jti":"k"}`), false},
		{"iss twice", jws(`{"iss":"i","iss":"i","jti":"j"}`), false},
		{"JTI is not jti", jws(`{"iss":"i","JTI":"j"}`), false},
		{"not an object", jws(`["iss","jti"]`), false},
		{"trailing data", jws(`{"iss":"i","jti":"j"}{}`), false},
		{"bad JSON", jws(`{"iss":"i","jti":"j"`), false},
		{"two segments", "a.b", false},
		{"four segments", jws(`{"iss":"i","jti":"j"}`) + ".x", false},
		{"JWE", "a.b.c.d.e", false},
		{"not base64url", "a.!!!.c", false},
		{"too long", jws(`{"iss":"i","jti":"j","x":"` + strings.Repeat("x", revoke.MaxTokenLength) + `"}`), false},
	} {
		key, ok := jwtkey.Key(tc.token)
		if ok != tc.ok || (ok && key != want) {
			t.Errorf("%s: Key = %q, %v; want ok %v", tc.name, key, ok, tc.ok)
		}
	}
	if key, ok := jwtkey.Key(jws(`{"jti":"j"}`)); !ok || key != jwtkey.For("", "j") {
		t.Errorf("no iss: %q, %v; want the empty issuer", key, ok)
	}
	if jwtkey.For("ab", "c") == jwtkey.For("a", "bc") {
		t.Error("For is ambiguous")
	}
}

// padSeg pads the payload segment of a JWS with '='.
func padSeg(tok string) string {
	p := strings.Split(tok, ".")
	for len(p[1])%4 != 0 {
		p[1] += "="
	}
	if !strings.HasSuffix(p[1], "=") {
		panic("padSeg: nothing to pad")
	}
	return strings.Join(p, ".")
}

func TestKeyOrOpaque(t *testing.T) {
	if k, ok := jwtkey.KeyOrOpaque("opaque-token_123"); !ok || k != "opaque-token_123" {
		t.Errorf("opaque: %q, %v", k, ok)
	}
	if _, ok := jwtkey.KeyOrOpaque("opaque\x00jwt:1:ij"); ok {
		t.Error("an opaque token with a NUL byte was accepted")
	}
	if k, ok := jwtkey.KeyOrOpaque(jws(`{"iss":"i","jti":"j"}`)); !ok || k != jwtkey.For("i", "j") {
		t.Errorf("JWT: %q, %v", k, ok)
	}
	if _, ok := jwtkey.KeyOrOpaque("looks.like.jwt"); ok {
		t.Error("a broken JWT was accepted")
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = jwtkey.KeyOrOpaque("opaque-token_123") }); n != 0 {
		t.Errorf("opaque tokens allocate %v times", n)
	}
}

func TestRefusedTokenIsRevoked(t *testing.T) {
	r, err := revoke.New(memory.New(), revoke.WithTokenKey(jwtkey.Key))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.IsRevoked(context.Background(), jws(`{"iss":"i"}`))
	if !got || !errors.Is(err, revoke.ErrInvalidToken) {
		t.Errorf("IsRevoked of a JWT without jti = %v, %v; want true, ErrInvalidToken", got, err)
	}
}

// BenchmarkIsRevokedJWT measures IsRevoked of JWT access tokens (about 300
// bytes, as an ES256 RFC 9068 token) under jwtkey.KeyOrOpaque, hit and miss
// over 10,000 revoked tokens.
func BenchmarkIsRevokedJWT(b *testing.B) {
	ctx := context.Background()
	r, err := revoke.New(memory.New(), revoke.WithTokenKey(jwtkey.KeyOrOpaque))
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	exp := time.Now().Add(time.Hour)
	const n = 10_000
	mk := func(i int) string {
		tok, _ := es256(b, map[string]any{
			"iss": "https://as.example.com", "sub": "user-1234567890", "aud": "https://api.example.com",
			"client_id": "app", "scope": "openid profile", "iat": exp.Unix() - 3600, "exp": exp.Unix(),
			"jti": "jti-" + strings.Repeat("0", 8) + big.NewInt(int64(i)).String(),
		})
		return tok
	}
	hits, misses := make([]string, n), make([]string, n)
	for i := range hits {
		hits[i], misses[i] = mk(i), mk(n+i)
		if _, err := r.RevokeUntracked(ctx, mustKey(b, hits[i]), "app", exp); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		toks []string
		want bool
	}{{"Hit", hits, true}, {"Miss", misses, false}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if got, err := r.IsRevoked(ctx, bc.toks[i%n]); got != bc.want || err != nil {
					b.Fatal("wrong answer")
				}
			}
		})
	}
}

func mustKey(b *testing.B, tok string) string {
	k, ok := jwtkey.Key(tok)
	if !ok {
		b.Fatal("not a JWT")
	}
	return k
}

// TestForgedTokenNamesTheGenuine: Key reads no signature, so a forged JWT
// (unsigned, other claims) with the issuer and jti of an issued token is
// that token to the Revoker: Lookup describes the genuine token's record
// (live), and Revoke by its client revokes the genuine token, as the
// package documentation says. Another client's request is refused.
func TestForgedTokenNamesTheGenuine(t *testing.T) {
	ctx := context.Background()
	r, err := revoke.New(memory.New(), revoke.WithTokenKey(jwtkey.KeyOrOpaque))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	genuine, _ := es256(t, map[string]any{"iss": "https://as.example", "jti": "7", "sub": "alice"})
	forged := b64.EncodeToString([]byte(`{"alg":"none"}`)) + "." +
		b64.EncodeToString([]byte(`{"iss":"https://as.example","jti":"7","sub":"admin","scope":"all"}`)) + "."
	if err := r.Issue(ctx, revoke.Token{Value: genuine, Kind: revoke.Access, ClientID: "app", Subject: "alice", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if info, err := r.Lookup(ctx, forged); err != nil || info.State != revoke.StateLive || info.Subject != "alice" {
		t.Errorf("Lookup of the forged token = %+v, %v; want the genuine token's record, live", info, err)
	}
	if n, err := r.Revoke(ctx, forged, "other"); n != 0 || !errors.Is(err, revoke.ErrClientMismatch) {
		t.Errorf("Revoke of the forged token by another client = %d, %v; want ErrClientMismatch", n, err)
	}
	if n, err := r.Revoke(ctx, forged, "app"); n != 1 || err != nil {
		t.Errorf("Revoke of the forged token by its client = %d, %v; want 1, nil", n, err)
	}
	if revoked, err := r.IsRevoked(ctx, genuine); !revoked || err != nil {
		t.Errorf("IsRevoked of the genuine token = %v, %v; want true", revoked, err)
	}
}
