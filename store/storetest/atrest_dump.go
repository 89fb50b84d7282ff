package storetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/sdkauth/revocation/revoke"
)

// RunAtRestDump is RunAtRest for stores that keep their data in a database
// server rather than in files: it issues and revokes tokens in the store
// that open returns, then searches what dump returns (every column of
// every table the store keeps, as text or bytes) for each raw value, as
// bytes and in hex and base64: while the store is open, after Close, and
// after reopening with open, which must return a Store over the same data.
// The dump must hold the tokens' SHA-256 IDs (raw or in hex), or the search
// would prove nothing.
func RunAtRestDump(t *testing.T, open func() (revoke.Store, error), dump func() ([]byte, error)) {
	var raws []string
	search := func(when string) {
		t.Helper()
		data, err := dump()
		if err != nil {
			t.Fatalf("%s: dump: %v", when, err)
		}
		searchData(t, data, raws, when, "the dump")
	}
	s, err := open()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatalf("revoke.New: %v", err)
	}
	raws, revoked := atRestWorkload(t, r)
	search("while open")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	search("after Close")
	if s, err = open(); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	if r, err = revoke.New(s); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i, raw := range revoked {
		if ok, err := r.IsRevoked(context.Background(), raw); err != nil || !ok {
			t.Fatalf("revoked token %d not revoked after reopening (err %v)", i, err)
		}
	}
	search("after reopening")
}

// searchData fails t if data holds a raw value in any form, and if it holds
// none of their IDs.
func searchData(t *testing.T, data []byte, raws []string, when, what string) {
	t.Helper()
	ids := 0
	for _, raw := range raws {
		for _, form := range []string{raw, hex.EncodeToString([]byte(raw)), base64.StdEncoding.EncodeToString([]byte(raw))} {
			if bytes.Contains(data, []byte(form)) {
				t.Errorf("%s: %s holds a raw token value", when, what)
			}
		}
		id := revoke.TokenID(raw)
		if bytes.Contains(data, id[:]) || bytes.Contains(data, []byte(id.String())) {
			ids++
		}
	}
	if ids == 0 {
		t.Fatalf("%s: %s holds none of the tokens' SHA-256 IDs, so the search proves nothing", when, what)
	}
}
