package storebench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/revoke"
)

// benchHTTP measures the HTTP layer end to end over the store: the
// revocation endpoint revoking a live access token (a write), and the
// middleware in front of a handler for a live and a revoked bearer token.
func benchHTTP(b *testing.B, open func(*testing.B) revoke.Store) {
	ctx := context.Background()
	s := open(b)
	r := newBenchRevoker(b, s)
	b.Run("Revoke", func(b *testing.B) {
		h, err := httpadapter.NewHandler(r)
		if err != nil {
			b.Fatal(err)
		}
		var pool []string
		b.ReportAllocs()
		for b.Loop() {
			if len(pool) == 0 {
				b.StopTimer()
				pool = seed(b, s, 10_000, false)
				b.StartTimer()
			}
			tok := pool[len(pool)-1]
			pool = pool[:len(pool)-1]
			req := httptest.NewRequest(http.MethodPost, httpadapter.Path, strings.NewReader(`{"token":"`+tok+`","clientId":"bench"}`))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
	live := seed(b, s, 1, false)[0]
	revoked := seed(b, s, 1, false)[0]
	if _, err := r.Revoke(ctx, revoked, "bench"); err != nil {
		b.Fatal(err)
	}
	api := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	wrap, err := httpadapter.Middleware(r)
	if err != nil {
		b.Fatal(err)
	}
	mw := wrap(api)
	for _, c := range []struct {
		name string
		tok  string
		want int
	}{{"Middleware/Live", live, http.StatusNoContent}, {"Middleware/Revoked", revoked, http.StatusUnauthorized}} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/api", nil)
			req.Header.Set("Authorization", "Bearer "+c.tok)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				mw.ServeHTTP(w, req)
				if w.Code != c.want {
					b.Fatalf("status %d, want %d", w.Code, c.want)
				}
			}
		})
	}
}
