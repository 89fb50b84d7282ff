package main

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/jwtkey"
	"github.com/sdkauth/revocation/revoke"
)

// runCLI runs revokectl with args and stdin, and returns its exit code and
// output.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	code = run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// jwt returns a compact JWS whose payload holds iss and jti, with sig as
// its signature segment: jwtkey reads the claims and never the signature,
// so two signatures are two spellings of one token.
func jwt(iss, jti, sig string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"ES256"}`)) + "." +
		enc.EncodeToString([]byte(`{"iss":"`+iss+`","jti":"`+jti+`"}`)) + "." + sig
}

// jwtStore returns the path of a bolt store that a server with
// revoke.WithTokenKey(jwtkey.KeyOrOpaque) filled: tokens issued, and those
// of revoked revoked, then closed.
func jwtStore(t *testing.T, issued []string, revoked ...string) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rev.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := revoke.New(s, revoke.WithTokenKey(jwtkey.KeyOrOpaque))
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range issued {
		err := r.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Access, ClientID: "app", ExpiresAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, tok := range revoked {
		if _, err := r.Revoke(ctx, tok, "app"); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCheckTokenKey: on a store whose server keys JWTs by issuer and jti,
// check --token-key jwt finds a revoked JWT, in any spelling, and a live
// one; without the flag the JWT is unknown, with a hint naming the flag.
func TestCheckTokenKey(t *testing.T) {
	t.Setenv("REVOKE_TOKEN_KEY", "")
	revoked, live := jwt("https://as", "j1", "c2lnMQ"), jwt("https://as", "j2", "c2lnMQ")
	store := "bolt:" + jwtStore(t, []string{revoked, live}, revoked)

	code, out, _ := runCLI(t, revoked, "--store", store, "--token-key", "jwt", "check")
	if code != exitOK || !strings.HasPrefix(out, "revoked: access token") {
		t.Errorf("check --token-key jwt of a revoked JWT: exit %d, %q; want 0, revoked", code, out)
	}
	respelled := jwt("https://as", "j1", "b3RoZXI")
	if code, out, _ := runCLI(t, respelled, "--store", store, "--token-key", "jwt", "check"); code != exitOK {
		t.Errorf("check --token-key jwt of another spelling of a revoked JWT: exit %d, %q; want 0", code, out)
	}
	if code, out, _ := runCLI(t, live, "--store", store, "--token-key", "jwt", "check"); code != exitNotRevoked || !strings.HasPrefix(out, "live:") {
		t.Errorf("check --token-key jwt of a live JWT: exit %d, %q; want 1, live", code, out)
	}
	t.Setenv("REVOKE_TOKEN_KEY", "jwt")
	if code, _, _ := runCLI(t, revoked, "--store", store, "check"); code != exitOK {
		t.Errorf("check with REVOKE_TOKEN_KEY=jwt of a revoked JWT: exit %d, want 0", code)
	}
	t.Setenv("REVOKE_TOKEN_KEY", "")
	code, out, errOut := runCLI(t, revoked, "--store", store, "check")
	if code != exitNotRevoked || out != "unknown\n" {
		t.Errorf("check without --token-key: exit %d, %q; want 1, unknown", code, out)
	}
	if !strings.Contains(errOut, "looks like a JWT") || !strings.Contains(errOut, "--token-key jwt") {
		t.Errorf("check without --token-key gives no hint naming the flag: %q", errOut)
	}
	if _, _, errOut := runCLI(t, "opaque-never-issued", "--store", store, "check"); errOut != "" {
		t.Errorf("check of an opaque token hints: %q", errOut)
	}
}

// TestRevokeTokenKey: revoke --token-key jwt revokes a JWT the server keyed
// by issuer and jti, and the server's Revoker then refuses every spelling
// of it; without the flag the JWT was "never issued", with the hint.
func TestRevokeTokenKey(t *testing.T) {
	t.Setenv("REVOKE_TOKEN_KEY", "")
	ctx := context.Background()
	tok := jwt("https://as", "j7", "c2lnMQ")
	path := jwtStore(t, []string{tok})
	store := "bolt:" + path

	code, _, errOut := runCLI(t, tok, "--store", store, "revoke")
	if code != exitNotFound || !strings.Contains(errOut, "--token-key jwt") {
		t.Errorf("revoke without --token-key: exit %d, %q; want 4 with a hint", code, errOut)
	}
	code, out, errOut := runCLI(t, tok, "--store", store, "--token-key", "jwt", "revoke")
	if code != exitOK || out != "revoked 1 token (live access token)\n" {
		t.Fatalf("revoke --token-key jwt: exit %d, %q, %q; want 0, revoked 1 token", code, out, errOut)
	}

	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := revoke.New(s, revoke.WithTokenKey(jwtkey.KeyOrOpaque))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, spelling := range []string{tok, jwt("https://as", "j7", "b3RoZXI")} {
		if ok, err := r.IsRevoked(ctx, spelling); !ok || err != nil {
			t.Errorf("IsRevoked after revokectl revoke --token-key jwt = %v, %v; want true", ok, err)
		}
	}
}

// TestTokenKeyFlag: an unknown --token-key, and a token its key function
// refuses, are usage errors.
func TestTokenKeyFlag(t *testing.T) {
	store := "bolt:" + jwtStore(t, nil)
	if code, _, errOut := runCLI(t, "tok", "--store", store, "--token-key", "jws", "check"); code != exitUsage || !strings.Contains(errOut, `--token-key "jws": want raw or jwt`) {
		t.Errorf("--token-key jws: exit %d, %q; want 2", code, errOut)
	}
	if code, _, errOut := runCLI(t, "a.b.c", "--store", store, "--token-key", "jwt", "check"); code != exitUsage || !strings.Contains(errOut, "neither a JWT") {
		t.Errorf("--token-key jwt of a token with dots that is no JWT: exit %d, %q; want 2", code, errOut)
	}
}
