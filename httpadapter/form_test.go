package httpadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

const formCT = "application/x-www-form-urlencoded"

// postForm sends a form revocation request through h.
func postForm(t testing.TB, h http.Handler, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	return serve(t, h, newRequest(http.MethodPost, formCT, form.Encode()))
}

// oauthError decodes a form dialect's error body.
func oauthError(t testing.TB, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("decoding error body %q: %v", rec.Body, err)
	}
	return e.Error
}

func TestFormRevokes(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev)
	rec := postForm(t, h, url.Values{"token": {accessA1}, "client_id": {"client-a"}})
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
	}
	if !f.revoked(t, accessA1) || f.revoked(t, accessA2) {
		t.Fatal("the access token alone should be revoked")
	}
	// Already revoked, never issued, expired: 200 all the same.
	for _, tok := range []string{accessA1, "never-issued"} {
		if rec := postForm(t, h, url.Values{"token": {tok}, "client_id": {"client-a"}}); rec.Code != http.StatusOK {
			t.Errorf("%s: status = %d, want 200", tok, rec.Code)
		}
	}
	// The charset parameter, when given, is UTF-8.
	req := newRequest(http.MethodPost, formCT+"; charset=UTF-8", url.Values{"token": {"x"}, "client_id": {"c"}}.Encode())
	if rec := serve(t, h, req); rec.Code != http.StatusOK {
		t.Errorf("charset=UTF-8: status = %d, want 200", rec.Code)
	}
}

func TestFormHintIsNotAFilter(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev)
	// A refresh token under an access_token hint: its grant is revoked.
	rec := postForm(t, h, url.Values{"token": {refreshA}, "token_type_hint": {"access_token"}, "client_id": {"client-a"}})
	if rec.Code != http.StatusOK || !f.revoked(t, accessA1) || !f.revoked(t, accessA2) {
		t.Fatalf("refresh token under an access_token hint: status %d, grant revoked %v", rec.Code, f.revoked(t, accessA1))
	}
	// An unknown hint is ignored.
	rec = postForm(t, h, url.Values{"token": {accessA3}, "token_type_hint": {"id_token"}, "client_id": {"client-a"}})
	if rec.Code != http.StatusOK || !f.revoked(t, accessA3) {
		t.Fatalf("unknown hint: status %d, revoked %v", rec.Code, f.revoked(t, accessA3))
	}
}

func TestFormInvalidRequest(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev)
	long := strings.Repeat("t", httpadapter.DefaultMaxTokenLength+1)
	for _, body := range []string{
		"",
		"client_id=client-a",
		"token=&client_id=client-a", // a parameter without a value is omitted
		"token=" + accessA1 + "&token=" + accessA1 + "&client_id=client-a",
		"token=" + accessA1 + "&token=&client_id=client-a",
		"token=" + accessA1 + "&client_id=client-a&client_id=client-a",
		"token=" + accessA1 + "&token_type_hint=a&token_type_hint=b&client_id=client-a",
		"token=" + accessA1 + "&client_id=client-a&client_secret=a&client_secret=b",
		"token=%zz&client_id=client-a",
		"token=" + accessA1 + ";client_id=client-a",
		"token=" + long + "&client_id=client-a",
		"token=" + accessA1 + "&client_id=" + strings.Repeat("c", httpadapter.DefaultMaxClientIDLength+1),
		`{"token":"` + accessA1 + `","clientId":"client-a"}`, // JSON under the form's type
	} {
		rec := serve(t, h, newRequest(http.MethodPost, formCT, body))
		if rec.Code != http.StatusBadRequest || oauthError(t, rec) != "invalid_request" {
			t.Errorf("%.60q: status %d %s, want 400 invalid_request", body, rec.Code, rec.Body)
		}
		if strings.Contains(rec.Body.String(), accessA1) {
			t.Errorf("%.60q: the response echoes the token", body)
		}
	}
	// The token in the URL's query is not read.
	req := newRequest(http.MethodPost, formCT, "client_id=client-a")
	req.URL.RawQuery = "token=" + accessA1
	if rec := serve(t, h, req); rec.Code != http.StatusBadRequest {
		t.Errorf("token in the query: status %d, want 400", rec.Code)
	}
	if f.revoked(t, accessA1) {
		t.Error("an invalid request revoked the token")
	}
}

func TestFormClients(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev)
	// No client at all.
	rec := postForm(t, h, url.Values{"token": {accessA1}})
	if rec.Code != http.StatusUnauthorized || oauthError(t, rec) != "invalid_client" {
		t.Fatalf("no client: status %d %s, want 401 invalid_client", rec.Code, rec.Body)
	}
	if rec.Header().Get("WWW-Authenticate") != `Basic realm="revocation"` {
		t.Errorf("WWW-Authenticate = %q", rec.Header().Get("WWW-Authenticate"))
	}
	// A secret the handler cannot check, without an authenticator.
	rec = postForm(t, h, url.Values{"token": {accessA1}, "client_id": {"client-a"}, "client_secret": {"s"}})
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("client_secret without an authenticator: status %d, want 401", rec.Code)
	}
	// Another client's token: refused, never 200.
	rec = postForm(t, h, url.Values{"token": {accessB}, "client_id": {"client-a"}})
	if rec.Code != http.StatusBadRequest || oauthError(t, rec) != "unauthorized_client" {
		t.Fatalf("another client's token: status %d %s, want 400 unauthorized_client", rec.Code, rec.Body)
	}
	if f.revoked(t, accessA1) || f.revoked(t, accessB) {
		t.Fatal("a refused request revoked a token")
	}
}

func TestFormFailures(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev, httpadapter.WithMaxBodyBytes(64))
	rec := postForm(t, h, url.Values{"token": {accessA1}, "client_id": {"client-a"}, "pad": {strings.Repeat("p", 64)}})
	if rec.Code != http.StatusRequestEntityTooLarge || oauthError(t, rec) != "invalid_request" {
		t.Fatalf("large body: status %d %s, want 413 invalid_request", rec.Code, rec.Body)
	}
	f.store.fail.Store(true)
	rec = postForm(t, h, url.Values{"token": {accessA1}, "client_id": {"client-a"}})
	if rec.Code != http.StatusInternalServerError || oauthError(t, rec) != "server_error" {
		t.Fatalf("store failure: status %d %s, want 500 server_error", rec.Code, rec.Body)
	}
	f.store.fail.Store(false)
	if f.revoked(t, accessA1) {
		t.Fatal("revoked although the store failed")
	}
	for _, err := range []error{revoke.ErrUnavailable, revoke.ErrClosed, context.Canceled, context.DeadlineExceeded} {
		h := newHandler(t, revokerFunc(func(context.Context, string, string) (int, error) {
			return 0, fmt.Errorf("wrapped: %w", err)
		}))
		rec := postForm(t, h, url.Values{"token": {"t"}, "client_id": {"c"}})
		if rec.Code != http.StatusServiceUnavailable || oauthError(t, rec) != "temporarily_unavailable" {
			t.Errorf("%v: status %d %s, want 503 temporarily_unavailable", err, rec.Code, rec.Body)
		}
		if got := rec.Header().Get("Retry-After"); got != "5" {
			t.Errorf("%v: Retry-After %q, want the default 5", err, got)
		}
	}
	h = newHandler(t, revokerFunc(func(context.Context, string, string) (int, error) {
		return 0, errors.New("boom")
	}))
	if rec := postForm(t, h, url.Values{"token": {"t"}, "client_id": {"c"}}); rec.Code != http.StatusInternalServerError || rec.Header().Get("Retry-After") != "" {
		t.Errorf("other failure: status %d, Retry-After %q; want 500 without", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// TestUnavailableStore runs a real Revoker over a store whose writes fail
// with revoke.ErrUnavailable: both dialects answer 503 and nothing is
// revoked.
func TestUnavailableStore(t *testing.T) {
	s := &unavailableStore{Store: memory.New()}
	rev, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer rev.Close()
	_ = rev.Issue(context.Background(), revoke.Token{Value: "tok-u", Kind: revoke.Access, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)})
	s.down.Store(true)
	h := newHandler(t, rev, httpadapter.WithRetryAfter(90e9))
	for _, rec := range []*httptest.ResponseRecorder{
		post(t, h, "tok-u", "c"),
		postForm(t, h, url.Values{"token": {"tok-u"}, "client_id": {"c"}}),
	} {
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "90" {
			t.Errorf("status %d, Retry-After %q; want 503, 90", rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	s.down.Store(false)
	if ok, _ := rev.IsRevoked(context.Background(), "tok-u"); ok {
		t.Error("revoked although the store was unavailable")
	}
}

type unavailableStore struct {
	revoke.Store
	down atomic.Bool
}

func (s *unavailableStore) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	if s.down.Load() {
		return fmt.Errorf("teststore: lock not granted: %w", revoke.ErrUnavailable)
	}
	return s.Store.Update(ctx, fn)
}

func (s *unavailableStore) View(ctx context.Context, fn func(revoke.Tx) error) error {
	if s.down.Load() {
		return fmt.Errorf("teststore: lock not granted: %w", revoke.ErrUnavailable)
	}
	return s.Store.View(ctx, fn)
}

func TestWithRetryAfter(t *testing.T) {
	h := newHandler(t, revokerFunc(func(context.Context, string, string) (int, error) {
		return 0, revoke.ErrUnavailable
	}), httpadapter.WithRetryAfter(1500*time.Millisecond))
	if rec := post(t, h, "t", "c"); rec.Header().Get("Retry-After") != "2" {
		t.Errorf("Retry-After %q, want 2 (rounded up)", rec.Header().Get("Retry-After"))
	}
	for _, d := range []time.Duration{0, time.Second - 1, time.Hour + 1, -time.Second} {
		h, err := httpadapter.NewHandler(revokerFunc(nil), httpadapter.WithRetryAfter(d))
		if !errors.Is(err, httpadapter.ErrInvalidOption) || h != nil || !strings.Contains(err.Error(), "WithRetryAfter") {
			t.Errorf("WithRetryAfter(%v): NewHandler = %v, %v; want an error wrapping ErrInvalidOption naming WithRetryAfter", d, h, err)
		}
	}
	for _, d := range []time.Duration{time.Second, time.Hour} {
		newHandler(t, revokerFunc(nil), httpadapter.WithRetryAfter(d))
	}
}
