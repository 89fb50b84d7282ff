package httpadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/revoke"
)

func TestHandlerRevokesAccessToken(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev)

	rec := post(t, h, accessA1, "client-a")
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
	}
	if !f.revoked(t, accessA1) {
		t.Error("access token not revoked")
	}
	for _, other := range []string{refreshA, accessA2, accessA3, accessB} {
		if f.revoked(t, other) {
			t.Errorf("revoking an access token revoked %s too", other)
		}
	}
	// Already revoked: the same 200.
	if rec := post(t, h, accessA1, "client-a"); rec.Code != http.StatusOK {
		t.Fatalf("second revocation: status = %d, want 200", rec.Code)
	}
}

func TestHandlerRFC7009Answers200ForUnknownAndExpired(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev)

	if rec := post(t, h, "never-issued", "client-a"); rec.Code != http.StatusOK {
		t.Errorf("unknown token: status = %d, want 200", rec.Code)
	}
	// Unknown tokens are not checked against the client either.
	if rec := post(t, h, "never-issued", "client-z"); rec.Code != http.StatusOK {
		t.Errorf("unknown token of an unknown client: status = %d, want 200", rec.Code)
	}
	f.clock.Advance(90 * time.Minute) // the access tokens have expired by this server's clock
	// Another client's token is refused whatever this clock says of its
	// expiry: another server's clock may still hold it valid.
	if rec := post(t, h, accessB, "client-a"); rec.Code != http.StatusForbidden {
		t.Errorf("expired token of another client: status = %d, want 403", rec.Code)
	}
	if rec := post(t, h, accessB, "client-b"); rec.Code != http.StatusOK {
		t.Errorf("expired token: status = %d, want 200", rec.Code)
	}
	// Its record is revoked, for the servers whose clocks hold it valid.
	if info, err := f.rev.Lookup(context.Background(), accessB); err != nil || info.State != revoke.StateRevoked {
		t.Errorf("a token this server's clock holds expired: Lookup = %v, %v; want revoked", info.State, err)
	}
}

func TestHandlerCascadeThroughHTTP(t *testing.T) {
	f := newFixture(t)
	revokeH := newHandler(t, f.rev)
	protected := newMiddleware(t, f.rev)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"hello":"world"}`)
	}))
	call := func(token string) int {
		req := newRequest(http.MethodGet, "", "")
		req.Header.Set("Authorization", "Bearer "+token)
		return serveMiddleware(t, protected, req).Code
	}
	for _, tok := range []string{accessA1, accessA2, accessA3, accessB} {
		if got := call(tok); got != http.StatusOK {
			t.Fatalf("before revocation, %s: status %d, want 200", tok, got)
		}
	}

	if rec := post(t, revokeH, refreshA, "client-a"); rec.Code != http.StatusOK {
		t.Fatalf("revoking the refresh token: status = %d, body %s", rec.Code, rec.Body)
	}

	for _, tok := range []string{accessA1, accessA2} {
		if got := call(tok); got != http.StatusUnauthorized {
			t.Errorf("access token %s of the revoked grant: status %d, want 401", tok, got)
		}
	}
	for _, tok := range []string{accessA3, accessB} {
		if got := call(tok); got != http.StatusOK {
			t.Errorf("access token %s of another grant: status %d, want 200", tok, got)
		}
	}
	if !f.revoked(t, refreshA) {
		t.Error("refresh token not revoked")
	}
}

func TestHandlerClientMismatch(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev)
	rec := post(t, h, accessA1, "client-b")
	if rec.Code != http.StatusForbidden {
		t.Fatalf("status = %d, want 403", rec.Code)
	}
	if msg := message(t, rec); strings.Contains(msg, accessA1) {
		t.Errorf("message echoes the token: %q", msg)
	}
	if f.revoked(t, accessA1) {
		t.Error("another client's request revoked the token")
	}
	// The refresh token too: the grant stays live.
	if rec := post(t, h, refreshA, "client-b"); rec.Code != http.StatusForbidden {
		t.Fatalf("refresh token of another client: status = %d, want 403", rec.Code)
	}
	if f.revoked(t, refreshA) || f.revoked(t, accessA2) {
		t.Error("another client's request revoked the grant")
	}
}

func TestHandlerValidation(t *testing.T) {
	long := strings.Repeat("t", httpadapter.DefaultMaxTokenLength+1)
	longClient := strings.Repeat("c", httpadapter.DefaultMaxClientIDLength+1)
	for _, tc := range []struct {
		name string
		body string
		want []string
	}{
		{"empty object", `{}`, []string{"token: required field missing", "clientId: required field missing"}},
		{"token missing", `{"clientId":"client-a"}`, []string{"token: required field missing"}},
		{"clientId missing", `{"token":"x"}`, []string{"clientId: required field missing"}},
		{"empty strings", `{"token":"","clientId":""}`, []string{"token: must not be empty", "clientId: must not be empty"}},
		{"numbers", `{"token":1,"clientId":2.5}`, []string{"token: must be a string", "clientId: must be a string"}},
		{"nulls", `{"token":null,"clientId":null}`, []string{"token: must be a string", "clientId: must be a string"}},
		{"object and array", `{"token":{"a":1},"clientId":["x"]}`, []string{"token: must be a string", "clientId: must be a string"}},
		{"booleans", `{"token":true,"clientId":false}`, []string{"token: must be a string", "clientId: must be a string"}},
		{"mixed", `{"token":"","clientId":7}`, []string{"token: must not be empty", "clientId: must be a string"}},
		{"too long", jsonBody(long, longClient), []string{
			fmt.Sprintf("token: must be at most %d bytes", httpadapter.DefaultMaxTokenLength),
			fmt.Sprintf("clientId: must be at most %d bytes", httpadapter.DefaultMaxClientIDLength),
		}},
		{"wrong case is an unknown field", `{"Token":"x","clientID":"y"}`, []string{"token: required field missing", "clientId: required field missing"}},
		{"duplicate token", `{"token":"x","token":"y","clientId":"client-a"}`, []string{"token: must appear only once"}},
		{"duplicate clientId, same value", `{"token":"x","clientId":"a","clientId":"a"}`, []string{"clientId: must appear only once"}},
		{"duplicate via escape", `{"token":"x","tok\u0065n":"y","clientId":"a"}`, []string{"token: must appear only once"}},
		// encoding/json matches names case-insensitively: beside the field,
		// a name that differs only in case is a duplicate.
		{"duplicate in another case", `{"token":"x","Token":"y","clientId":"a"}`, []string{"token: must appear only once"}},
		{"duplicate clientId in another case", `{"clientID":"b","token":"x","clientId":"a"}`, []string{"clientId: must appear only once"}},
		{"duplicate with a Kelvin sign", `{"token":"x","to\u212aen":"y","clientId":"a"}`, []string{"token: must appear only once"}},
		{"empty body", ``, []string{"body: required request body missing"}},
		{"blank body", " \n\t ", []string{"body: required request body missing"}},
		{"null", `null`, []string{"body: must be a JSON object"}},
		{"array", `[{"token":"x","clientId":"y"}]`, []string{"body: must be a JSON object"}},
		{"string", `"token"`, []string{"body: must be a JSON object"}},
		{"number", `42`, []string{"body: must be a JSON object"}},
		{"malformed", `{"token":"x",`, []string{"body: must be valid JSON"}},
		{"truncated string", `{"token":"x`, []string{"body: must be valid JSON"}},
		{"not JSON", `token=x&clientId=y`, []string{"body: must be valid JSON"}},
		{"single quotes", `{'token':'x'}`, []string{"body: must be valid JSON"}},
		{"trailing comma", `{"token":"x","clientId":"y",}`, []string{"body: must be valid JSON"}},
		{"bad value inside", `{"token":"x","clientId":"y","extra":[1,}`, []string{"body: must be valid JSON"}},
		{"trailing object", `{"token":"x","clientId":"y"}{}`, []string{"body: must hold a single JSON object and nothing after it"}},
		{"trailing garbage", `{"token":"x","clientId":"y"} x`, []string{"body: must hold a single JSON object and nothing after it"}},
		{"trailing brace", `{"token":"x","clientId":"y"}}`, []string{"body: must hold a single JSON object and nothing after it"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			h := newHandler(t, f.rev)
			rec := serve(t, h, newRequest(http.MethodPost, "application/json", tc.body))
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400; body %s", rec.Code, rec.Body)
			}
			if got := violations(t, rec); !slices.Equal(got, tc.want) {
				t.Errorf("violations = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHandlerAcceptsValidBodies(t *testing.T) {
	for _, tc := range []struct{ name, contentType, body string }{
		{"plain", "application/json", `{"token":"` + accessA1 + `","clientId":"client-a"}`},
		{"charset", "application/json; charset=utf-8", `{"token":"` + accessA1 + `","clientId":"client-a"}`},
		{"charset upper case", "Application/JSON; Charset=UTF-8", `{"token":"` + accessA1 + `","clientId":"client-a"}`},
		{"unknown fields ignored", "application/json", `{"token_type_hint":"access_token","token":"` + accessA1 + `","clientId":"client-a","x":[1,{"y":null}]}`},
		{"whitespace", "application/json", "\n {\"clientId\" : \"client-a\",\r\n\t\"token\": \"" + accessA1 + "\" } \n"},
		{"escaped", "application/json", `{"token":"access-A1-\u0030123456789","clientId":"client\u002da"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			rec := serve(t, newHandler(t, f.rev), newRequest(http.MethodPost, tc.contentType, tc.body))
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200; body %s", rec.Code, rec.Body)
			}
			if !f.revoked(t, accessA1) {
				t.Error("token not revoked")
			}
		})
	}
}

func TestHandlerMethodNotAllowed(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev)
	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodHead, "BREW"} {
		rec := serve(t, h, newRequest(m, "application/json", jsonBody(accessA1, "client-a")))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s: status = %d, want 405", m, rec.Code)
		}
		if got := rec.Header().Get("Allow"); got != "POST" {
			t.Errorf("%s: Allow = %q, want POST", m, got)
		}
	}
	if f.revoked(t, accessA1) {
		t.Error("a non-POST request revoked the token")
	}
}

func TestHandlerUnsupportedMediaType(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev)
	body := jsonBody(accessA1, "client-a")
	for _, ct := range []string{
		"", // missing
		"text/plain",
		"application/x-www-form-urlencoded; charset=iso-8859-1",
		"multipart/form-data; boundary=x",
		"application/jsonx",
		"application/problem+json",
		"application/json; charset=iso-8859-1",
		"application/json; charset=utf-16",
		"application/json;;", // not a media type
		"json",
	} {
		rec := serve(t, h, newRequest(http.MethodPost, ct, body))
		if rec.Code != http.StatusUnsupportedMediaType {
			t.Errorf("Content-Type %q: status = %d, want 415", ct, rec.Code)
		}
	}
	// Two Content-Type fields.
	req := newRequest(http.MethodPost, "application/json", body)
	req.Header.Add("Content-Type", "application/json")
	if rec := serve(t, h, req); rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("two Content-Types: status = %d, want 415", rec.Code)
	}
	if f.revoked(t, accessA1) {
		t.Error("a request of another media type revoked the token")
	}
}

func TestHandlerBodyTooLarge(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev)
	pad := strings.Repeat(" ", httpadapter.DefaultMaxBodyBytes)
	rec := serve(t, h, newRequest(http.MethodPost, "application/json", jsonBody(accessA1, "client-a")+pad))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413", rec.Code)
	}
	if f.revoked(t, accessA1) {
		t.Error("an oversized request revoked the token")
	}

	// WithMaxBodyBytes: a body of exactly the limit passes, one byte more
	// does not.
	body := jsonBody(accessA1, "client-a")
	h = newHandler(t, f.rev, httpadapter.WithMaxBodyBytes(int64(len(body))))
	if rec := serve(t, h, newRequest(http.MethodPost, "application/json", body+" ")); rec.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("one byte over the limit: status = %d, want 413", rec.Code)
	}
	if rec := serve(t, h, newRequest(http.MethodPost, "application/json", body)); rec.Code != http.StatusOK {
		t.Fatalf("at the limit: status = %d, want 200", rec.Code)
	}
}

func TestHandlerLengthOptions(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev, httpadapter.WithMaxTokenLength(len(accessA1)), httpadapter.WithMaxClientIDLength(len("client-a")))
	rec := post(t, h, accessA1+"x", "client-a"+"x")
	want := []string{
		fmt.Sprintf("token: must be at most %d bytes", len(accessA1)),
		fmt.Sprintf("clientId: must be at most %d bytes", len("client-a")),
	}
	if got := violations(t, rec); rec.Code != http.StatusBadRequest || !slices.Equal(got, want) {
		t.Fatalf("status %d, violations %q; want 400, %q", rec.Code, got, want)
	}
	if rec := post(t, h, accessA1, "client-a"); rec.Code != http.StatusOK {
		t.Fatalf("at the limits: status = %d, want 200", rec.Code)
	}
	// Without the options, the defaults.
	h = newHandler(t, f.rev)
	if rec := post(t, h, strings.Repeat("t", httpadapter.DefaultMaxTokenLength), strings.Repeat("c", httpadapter.DefaultMaxClientIDLength)); rec.Code != http.StatusOK {
		t.Fatalf("default limits: status = %d, want 200; body %s", rec.Code, rec.Body)
	}
}

func TestHandlerStoreFailure(t *testing.T) {
	f := newFixture(t)
	var logs logBuffer
	h := newHandler(t, f.rev, httpadapter.WithLogger(newLogger(&logs)))
	f.store.fail.Store(true)
	rec := post(t, h, accessA1, "client-a")
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
	if msg := message(t, rec); msg != "internal error" {
		t.Errorf("message = %q, want %q", msg, "internal error")
	}
	if !strings.Contains(logs.String(), errDisk.Error()) {
		t.Errorf("the store's error was not logged: %s", logs.String())
	}
	if strings.Contains(logs.String(), accessA1) {
		t.Errorf("the token was logged: %s", logs.String())
	}
	f.store.fail.Store(false)
	if f.revoked(t, accessA1) {
		t.Error("token revoked although the store failed")
	}
	if rec := post(t, h, accessA1, "client-a"); rec.Code != http.StatusOK {
		t.Fatalf("after the store recovered: status = %d, want 200", rec.Code)
	}
}

func TestHandlerClosedRevoker(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev)
	if err := f.rev.Close(); err != nil {
		t.Fatal(err)
	}
	if rec := post(t, h, accessA1, "client-a"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", rec.Code)
	}
}

// TestHandlerCancelledRequest sends a request whose context has ended: the
// revocation does not run, and the answer is 503 with Retry-After, never
// 200.
func TestHandlerCancelledRequest(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := newRequest(http.MethodPost, "application/json", jsonBody(accessA1, "client-a")).WithContext(ctx)
	rec := serve(t, h, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("status = %d (Retry-After %q) for a request whose revocation did not run, want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	if f.revoked(t, accessA1) {
		t.Error("the token of a cancelled request is revoked")
	}
}

// TestHandlerClientAuth checks a ClientAuth of the application's own: it is
// called after the request is validated, its ErrInvalidClient is a 401 with
// the Basic challenge and is logged, and the client it authenticates must
// be the one the body names.
func TestHandlerClientAuth(t *testing.T) {
	f := newFixture(t)
	var logs logBuffer
	var calls []string
	var mu sync.Mutex
	auth := func(r *http.Request, c httpadapter.ClaimedClient) (string, error) {
		mu.Lock()
		calls = append(calls, c.ID)
		mu.Unlock()
		user, pass, ok := r.BasicAuth()
		if !ok || pass != "secret-of-"+user {
			return "", fmt.Errorf("%w: bad client credentials", httpadapter.ErrInvalidClient)
		}
		return user, nil
	}
	h := newHandler(t, f.rev, httpadapter.WithClientAuth(auth), httpadapter.WithLogger(newLogger(&logs)))

	// No credentials.
	rec := post(t, h, accessA1, "client-a")
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("no credentials: status = %d, want 401", rec.Code)
	}
	if got := rec.Header().Get("WWW-Authenticate"); got != `Basic realm="revocation"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	if f.revoked(t, accessA1) {
		t.Fatal("unauthenticated request revoked the token")
	}
	if !strings.Contains(logs.String(), "bad client credentials") {
		t.Errorf("the authenticator's error was not logged: %s", logs.String())
	}

	// Credentials of another client than the body's.
	req := newRequest(http.MethodPost, "application/json", jsonBody(accessA1, "client-a"))
	req.SetBasicAuth("client-b", "secret-of-client-b")
	if rec := serve(t, h, req); rec.Code != http.StatusUnauthorized {
		t.Fatalf("credentials of another client: status = %d, want 401", rec.Code)
	}

	// An invalid body is rejected before the authenticator is called.
	mu.Lock()
	n := len(calls)
	mu.Unlock()
	if rec := serve(t, h, newRequest(http.MethodPost, "application/json", `{}`)); rec.Code != http.StatusBadRequest {
		t.Fatalf("invalid body: status = %d, want 400", rec.Code)
	}
	mu.Lock()
	if len(calls) != n {
		t.Error("authenticator called for an invalid body")
	}
	mu.Unlock()

	// Good credentials.
	req = newRequest(http.MethodPost, "application/json", jsonBody(accessA1, "client-a"))
	req.SetBasicAuth("client-a", "secret-of-client-a")
	if rec := serve(t, h, req); rec.Code != http.StatusOK {
		t.Fatalf("good credentials: status = %d, want 200", rec.Code)
	}
	if !f.revoked(t, accessA1) {
		t.Error("token not revoked")
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(calls, []string{"client-a", "client-a", "client-a"}) {
		t.Errorf("authenticator calls = %q", calls)
	}
}

// revokerFunc adapts a function to httpadapter.Revoker.
type revokerFunc func(ctx context.Context, token, clientID string) (int, error)

func (f revokerFunc) Revoke(ctx context.Context, token, clientID string) (int, error) {
	return f(ctx, token, clientID)
}

func TestHandlerMapsRevokerErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
		want   string // violation or message
	}{
		{"field error clientID", fmt.Errorf("wrapped: %w", &revoke.FieldError{Field: "clientID", Reason: "is empty"}), 400, "clientId: is invalid: is empty"},
		{"field error token", &revoke.FieldError{Field: "token", Reason: "is empty"}, 400, "token: is invalid: is empty"},
		{"bare ErrInvalidToken", revoke.ErrInvalidToken, 400, "token: is invalid"},
		{"wrapped mismatch", fmt.Errorf("x: %w", revoke.ErrClientMismatch), 403, "token was issued to another client"},
		{"closed", revoke.ErrClosed, 503, "temporarily unavailable: retry later"},
		{"deadline", context.DeadlineExceeded, 503, "temporarily unavailable: retry later"},
		{"cancelled", fmt.Errorf("revoke: Revoke: %w", context.Canceled), 503, "temporarily unavailable: retry later"},
		{"unavailable", fmt.Errorf("sqlite: busy: %w", revoke.ErrUnavailable), 503, "temporarily unavailable: retry later"},
		{"other", errors.New("boom"), 500, "internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHandler(t, revokerFunc(func(context.Context, string, string) (int, error) { return 0, tc.err }))
			rec := post(t, h, "tok", "cli")
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d", rec.Code, tc.status)
			}
			var got string
			if rec.Code == 400 {
				got = strings.Join(violations(t, rec), "; ")
			} else {
				got = message(t, rec)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHandlerPassesContext(t *testing.T) {
	type key struct{}
	var got any
	h := newHandler(t, revokerFunc(func(ctx context.Context, token, clientID string) (int, error) {
		got = ctx.Value(key{})
		if token != "tok" || clientID != "cli" {
			t.Errorf("Revoke(%q, %q)", token, clientID)
		}
		return 1, nil
	}))
	req := newRequest(http.MethodPost, "application/json", jsonBody("tok", "cli"))
	req = req.WithContext(context.WithValue(req.Context(), key{}, "v"))
	if rec := serve(t, h, req); rec.Code != 200 || got != "v" {
		t.Fatalf("status %d, context value %v", rec.Code, got)
	}
}

func TestHandlerNeverEchoesInput(t *testing.T) {
	const marker = "MARKER<script>"
	f := newFixture(t)
	h := newHandler(t, f.rev, httpadapter.WithMaxBodyBytes(512), httpadapter.WithMaxTokenLength(20))
	for _, tc := range []struct{ method, ct, body string }{
		{"GET", "application/json", marker},
		{"POST", "text/" + marker, marker},
		{"POST", "application/json", marker},
		{"POST", "application/json", `{"` + marker + `":1,"token":"` + marker + strings.Repeat("x", 30) + `","clientId":1}`},
		{"POST", "application/json", `{"token":"x","clientId":"y"}` + marker},
		{"POST", "application/json", `{"token":"` + marker + `","clientId":"y"}` + strings.Repeat(" ", 600)},
		{"POST", "application/json", jsonBody(accessA1, marker)},
	} {
		rec := serve(t, h, newRequest(tc.method, tc.ct, tc.body))
		if strings.Contains(rec.Body.String(), "MARKER") || strings.Contains(rec.Body.String(), accessA1) {
			t.Errorf("%s %q: response echoes the input: %s", tc.method, tc.body, rec.Body)
		}
	}
}

func TestHandlerNilBody(t *testing.T) {
	f := newFixture(t)
	req := newRequest(http.MethodPost, "application/json", "")
	req.Body = nil
	rec := serve(t, newHandler(t, f.rev), req)
	if got := violations(t, rec); rec.Code != 400 || !slices.Equal(got, []string{"body: required request body missing"}) {
		t.Fatalf("status %d, violations %q", rec.Code, got)
	}
}

// errReader fails every read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
func (errReader) Close() error             { return nil }

func TestHandlerBodyReadError(t *testing.T) {
	f := newFixture(t)
	req := newRequest(http.MethodPost, "application/json", "")
	req.Body = errReader{}
	rec := serve(t, newHandler(t, f.rev), req)
	if got := violations(t, rec); rec.Code != 400 || !slices.Equal(got, []string{"body: could not be read"}) {
		t.Fatalf("status %d, violations %q", rec.Code, got)
	}
}

func TestHandlerConcurrent(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev)
	mw := newMiddleware(t, f.rev)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	ctx := context.Background()
	exp := f.clock.Now().Add(time.Hour)
	const workers, each = 8, 20
	for w := range workers {
		for i := range each {
			tok := fmt.Sprintf("c-%d-%d", w, i)
			if err := f.rev.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Access, ClientID: "client-a", ExpiresAt: exp}); err != nil {
				t.Fatal(err)
			}
		}
	}
	do := func(h http.Handler, req *http.Request) (int, error) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, checkResponse(rec, false)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				tok := fmt.Sprintf("c-%d-%d", w, i)
				code, err := do(h, newRequest(http.MethodPost, "application/json", jsonBody(tok, "client-a")))
				if code != http.StatusOK || err != nil {
					t.Errorf("revoke %s: %d %v", tok, code, err)
					return
				}
				req := newRequest(http.MethodGet, "", "")
				req.Header.Set("Authorization", "Bearer "+tok)
				if code, err := do(mw, req); code != http.StatusUnauthorized || err != nil {
					t.Errorf("%s after revocation: %d %v", tok, code, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestHandlerRevokerRules sends client IDs that pass the handler's own
// checks but not the Revoker's (a NUL byte, bytes that are not UTF-8): the
// answer is the 400 of any bad input, naming the field and the Revoker's
// reason, in both dialects, and nothing is logged above Info.
func TestHandlerRevokerRules(t *testing.T) {
	f := newFixture(t)
	var logs logBuffer
	h := newHandler(t, f.rev, httpadapter.WithLogger(newLogger(&logs)))
	rec := post(t, h, accessA1, "client-a\x00")
	if got, want := violations(t, rec), []string{"clientId: is invalid: holds a NUL byte"}; rec.Code != http.StatusBadRequest || !slices.Equal(got, want) {
		t.Errorf("JSON, NUL in clientId: %d %q, want 400 %q", rec.Code, got, want)
	}
	rec = serve(t, h, newRequest(http.MethodPost, "application/x-www-form-urlencoded", "token="+accessA1+"&client_id=client-a%FF"))
	var e struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatal(err)
	}
	if want := "client_id is invalid: is not valid UTF-8"; rec.Code != http.StatusBadRequest || e.Error != "invalid_request" || e.ErrorDescription != want {
		t.Errorf("form, client_id not UTF-8: %d %s, want 400 invalid_request %q", rec.Code, rec.Body, want)
	}
	if f.revoked(t, accessA1) {
		t.Error("a refused request revoked the token")
	}
	if strings.Contains(logs.String(), "WARN") || strings.Contains(logs.String(), "ERROR") {
		t.Errorf("a caller's bad input is logged as a server problem:\n%s", logs.String())
	}
}
