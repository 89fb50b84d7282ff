package httpadapter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// seedSpecPath is where the SDK's OpenAPI bundle, the reference the
// project's document must agree with, lies: shared/spec beside the
// repository's root, as on the developers' machines and in CI.
var seedSpecPath = filepath.Join("..", "..", "shared", "spec", "revoke-token.openapi.yaml")

// spec is a loaded, validated OpenAPI document with a router over it.
type spec struct {
	doc    *openapi3.T
	router routers.Router
	op     *openapi3.Operation
}

var (
	projectOnce sync.Once
	projectSpec *spec
	projectErr  error
)

// loadSpec loads and validates an OpenAPI document. The servers are dropped
// so that the router matches test requests on any host.
func loadSpec(data []byte) (*spec, error) {
	ctx := context.Background()
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("loading: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("validating: %w", err)
	}
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	pi := doc.Paths.Value(httpadapter.Path)
	if pi == nil || pi.Post == nil {
		return nil, fmt.Errorf("no POST %s", httpadapter.Path)
	}
	return &spec{doc: doc, router: router, op: pi.Post}, nil
}

// project returns the project's own document, httpadapter.OpenAPI.
func project(t testing.TB) *spec {
	t.Helper()
	projectOnce.Do(func() { projectSpec, projectErr = loadSpec(httpadapter.OpenAPI) })
	if projectErr != nil {
		t.Fatalf("httpadapter.OpenAPI: %v", projectErr)
	}
	return projectSpec
}

var (
	seedOnce  sync.Once
	seedSpec  *spec
	seedError error
)

// loadSeed loads the SDK's document once; it returns nil, nil when the file
// is missing.
func loadSeed() (*spec, error) {
	seedOnce.Do(func() {
		data, err := os.ReadFile(seedSpecPath)
		if err != nil {
			if os.Getenv("CI") != "" || !errors.Is(err, os.ErrNotExist) {
				seedError = err
			}
			return
		}
		seedSpec, seedError = loadSpec(data)
	})
	return seedSpec, seedError
}

// seed returns the SDK's document. Without shared/ beside the repository
// the tests that need it are skipped, except in CI, where it must be there.
func seed(t testing.TB) *spec {
	t.Helper()
	s, err := loadSeed()
	if err != nil {
		t.Fatalf("seed document %s: %v", seedSpecPath, err)
	}
	if s == nil {
		t.Skipf("seed document %s not found; run with shared/ beside the repository", seedSpecPath)
	}
	return s
}

// validate checks one response of the handler against doc with kin-openapi's
// validator. A request with another method than POST is routed as the POST
// operation, under which the 405 it gets is documented. With strict, the
// status must be documented explicitly, not only by "default". With
// noBody, the body must be empty and only the headers are validated (the
// form dialect's 200).
func (s *spec) validate(req *http.Request, status int, header http.Header, body []byte, strict, noBody bool) error {
	if noBody && len(body) != 0 {
		return fmt.Errorf("body %q where none is allowed", body)
	}
	rreq := req.Clone(context.Background())
	rreq.Method = http.MethodPost
	rreq.Body = http.NoBody
	route, params, err := s.router.FindRoute(rreq)
	if err != nil {
		return fmt.Errorf("finding route: %w", err)
	}
	if strict && s.op.Responses.Status(status) == nil {
		return fmt.Errorf("status %d is not documented", status)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    rreq,
			PathParams: params,
			Route:      route,
		},
		Status:  status,
		Header:  header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, ExcludeResponseBody: noBody},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// responses counts the responses validated, by status, so that a test can
// show every status of the contract went through the validator.
var responses struct {
	sync.Mutex
	byStatus map[int]int
	form     map[int]int // the form dialect's, by status
}

// serve runs req through h and checks the response: the common headers, a
// JSON body of the right shape for its status, and validity against the
// project's OpenAPI document (strictly: its status must be listed) and the
// seed's. It returns the recorded response.
func serve(t testing.TB, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	form := isFormRequest(req)
	if err := checkResponse(rec, form); err != nil {
		t.Fatalf("%s %s: %v\nbody: %s", req.Method, req.URL.Path, err, rec.Body.Bytes())
	}
	// The form dialect's 200 has no body and no Content-Type; its headers
	// are validated all the same.
	emptyOK := form && rec.Code == http.StatusOK
	if err := project(t).validate(req, rec.Code, rec.Header(), rec.Body.Bytes(), true, emptyOK); err != nil {
		t.Fatalf("%s %s: response %d does not match httpadapter.OpenAPI: %v\nbody: %s",
			req.Method, req.URL.Path, rec.Code, err, rec.Body.Bytes())
	}
	sd, err := loadSeed()
	if err != nil {
		t.Fatalf("seed document %s: %v", seedSpecPath, err)
	}
	// The seed describes the JSON dialect only.
	if sd != nil && !form {
		if err := sd.validate(req, rec.Code, rec.Header(), rec.Body.Bytes(), false, false); err != nil {
			t.Fatalf("%s %s: response %d does not match the seed document: %v\nbody: %s",
				req.Method, req.URL.Path, rec.Code, err, rec.Body.Bytes())
		}
	}
	responses.Lock()
	if responses.byStatus == nil {
		responses.byStatus = map[int]int{}
	}
	responses.byStatus[rec.Code]++
	if form {
		if responses.form == nil {
			responses.form = map[int]int{}
		}
		responses.form[rec.Code]++
	}
	responses.Unlock()
	return rec
}

// isFormRequest reports whether the handler must answer req in the form
// dialect: a POST whose single Content-Type is
// application/x-www-form-urlencoded, with a UTF-8 charset if any.
func isFormRequest(req *http.Request) bool {
	ct := req.Header.Values("Content-Type")
	if req.Method != http.MethodPost || len(ct) != 1 {
		return false
	}
	mt, params, err := mime.ParseMediaType(ct[0])
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// checkResponse checks what every response of the package must have,
// whatever its status: the headers, and a JSON object body of the shape of
// its status and dialect ({} for 200, violations for 400, a message
// otherwise; in the form dialect an empty 200 and RFC 6749 errors).
func checkResponse(rec *httptest.ResponseRecorder, form bool) error {
	if err := checkHeaders(rec.Header(), !(form && rec.Code == http.StatusOK)); err != nil {
		return err
	}
	if rec.Code == http.StatusServiceUnavailable {
		if ra := rec.Header().Values("Retry-After"); len(ra) != 1 || !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(ra[0]) {
			return fmt.Errorf("503 with Retry-After %q", ra)
		}
	}
	if form {
		switch rec.Code {
		case http.StatusMethodNotAllowed, http.StatusUnsupportedMediaType:
		default:
			return checkFormBody(rec)
		}
	}
	return checkBody(rec)
}

// checkHeaders checks the headers every response of the package carries;
// withBody, Content-Type too.
func checkHeaders(h http.Header, withBody bool) error {
	want := map[string]string{
		"Cache-Control":          "no-store",
		"Pragma":                 "no-cache",
		"X-Content-Type-Options": "nosniff",
	}
	if withBody {
		want["Content-Type"] = "application/json"
	} else if ct := h.Values("Content-Type"); len(ct) != 0 {
		return fmt.Errorf("Content-Type %q on an empty body", ct)
	}
	for k, want := range want {
		if got := h.Values(k); len(got) != 1 || got[0] != want {
			return fmt.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	return nil
}

// formCodes are the RFC 6749 error codes each status of the form dialect
// may carry.
var formCodes = map[int][]string{
	http.StatusBadRequest:            {"invalid_request", "unauthorized_client"},
	http.StatusUnauthorized:          {"invalid_client"},
	http.StatusForbidden:             {"invalid_request"},
	http.StatusRequestEntityTooLarge: {"invalid_request"},
	http.StatusInternalServerError:   {"server_error"},
	http.StatusServiceUnavailable:    {"temporarily_unavailable"},
}

// checkFormBody checks a response of the form dialect: 200 with an empty
// body, or an RFC 6749 error whose code fits its status.
func checkFormBody(rec *httptest.ResponseRecorder) error {
	body := rec.Body.Bytes()
	if rec.Code == http.StatusOK {
		if len(body) != 0 || rec.Header().Get("Content-Length") != "0" {
			return fmt.Errorf("form 200 with body %q, Content-Length %q", body, rec.Header().Get("Content-Length"))
		}
		return nil
	}
	if !bytes.HasSuffix(body, []byte("}\n")) {
		return fmt.Errorf("body does not end with a newline")
	}
	var e struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if err := strictUnmarshal(body, &e); err != nil {
		return fmt.Errorf("%d form body: %w", rec.Code, err)
	}
	if !slices.Contains(formCodes[rec.Code], e.Error) || e.ErrorDescription == "" {
		return fmt.Errorf("%d form body with error %q, description %q", rec.Code, e.Error, e.ErrorDescription)
	}
	if rec.Code == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
		return fmt.Errorf("401 without WWW-Authenticate")
	}
	return nil
}

// checkViolations checks the body of a 400: a list of violations, none
// empty, at most one per field.
func checkViolations(body []byte) error {
	var v struct {
		Violations []struct {
			Field, Description string
		}
	}
	if err := strictUnmarshal(body, &v); err != nil {
		return fmt.Errorf("400 body: %w", err)
	}
	if len(v.Violations) == 0 {
		return fmt.Errorf("400 without violations")
	}
	seen := map[string]bool{}
	for _, x := range v.Violations {
		if x.Field == "" || x.Description == "" {
			return fmt.Errorf("400 with an empty violation")
		}
		if seen[x.Field] {
			return fmt.Errorf("400 with two violations of %q", x.Field)
		}
		seen[x.Field] = true
	}
	return nil
}

// checkBody checks that a response of the handler has a JSON object body of
// the shape of its status, ending with a newline.
func checkBody(rec *httptest.ResponseRecorder) error {
	h := rec.Header()
	body := rec.Body.Bytes()
	if !json.Valid(body) {
		return fmt.Errorf("body is not valid JSON")
	}
	if !bytes.HasSuffix(body, []byte("}\n")) {
		return fmt.Errorf("body does not end with a newline")
	}
	switch rec.Code {
	case http.StatusOK:
		if string(body) != "{}\n" {
			return fmt.Errorf("200 body = %s, want {}", body)
		}
	case http.StatusBadRequest:
		if err := checkViolations(body); err != nil {
			return err
		}
	default:
		var v struct{ Message string }
		if err := strictUnmarshal(body, &v); err != nil {
			return fmt.Errorf("%d body: %w", rec.Code, err)
		}
		if v.Message == "" {
			return fmt.Errorf("%d without a message", rec.Code)
		}
	}
	if rec.Code == http.StatusMethodNotAllowed && h.Get("Allow") != "POST" {
		return fmt.Errorf("405 with Allow %q", h.Get("Allow"))
	}
	if rec.Code == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
		return fmt.Errorf("401 without WWW-Authenticate")
	}
	return nil
}

func strictUnmarshal(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// newRequest builds a request to the revocation endpoint.
func newRequest(method, contentType, body string) *http.Request {
	req := httptest.NewRequest(method, "http://example.com"+httpadapter.Path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

// jsonBody encodes a request body.
func jsonBody(token, clientID string) string {
	b, _ := json.Marshal(map[string]string{"token": token, "clientId": clientID})
	return string(b)
}

// post sends a JSON revocation request through h.
func post(t testing.TB, h http.Handler, token, clientID string) *httptest.ResponseRecorder {
	t.Helper()
	return serve(t, h, newRequest(http.MethodPost, "application/json", jsonBody(token, clientID)))
}

// violations decodes a 400 body.
func violations(t testing.TB, rec *httptest.ResponseRecorder) []string {
	t.Helper()
	var v struct {
		Violations []struct{ Field, Description string }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decoding 400 body: %v", err)
	}
	var out []string
	for _, x := range v.Violations {
		out = append(out, x.Field+": "+x.Description)
	}
	return out
}

// message decodes an Error body.
func message(t testing.TB, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var v struct{ Message string }
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decoding error body: %v", err)
	}
	return v.Message
}

// clock is a settable clock for the Revoker.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// fixture is a Revoker on a memory store with one grant issued to
// "client-a": a refresh token and two access tokens minted from it, plus an
// unrelated access token of "client-a" and one of "client-b".
type fixture struct {
	rev   *revoke.Revoker
	store *flakyStore
	clock *clock
}

const (
	refreshA = "refresh-A-0123456789"
	accessA1 = "access-A1-0123456789"
	accessA2 = "access-A2-0123456789"
	accessA3 = "access-A3-0123456789" // own grant
	accessB  = "access-B-0123456789"
)

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{store: &flakyStore{Store: memory.New()}, clock: newClock()}
	rev, err := revoke.New(f.store, revoke.WithClock(f.clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rev.Close() })
	f.rev = rev
	exp := f.clock.Now().Add(time.Hour)
	for _, tok := range []revoke.Token{
		{Value: refreshA, Kind: revoke.Refresh, ClientID: "client-a", ExpiresAt: exp.Add(time.Hour)},
		{Value: accessA1, Kind: revoke.Access, ClientID: "client-a", Parent: refreshA, ExpiresAt: exp},
		{Value: accessA2, Kind: revoke.Access, ClientID: "client-a", Parent: refreshA, ExpiresAt: exp},
		{Value: accessA3, Kind: revoke.Access, ClientID: "client-a", ExpiresAt: exp},
		{Value: accessB, Kind: revoke.Access, ClientID: "client-b", ExpiresAt: exp},
	} {
		if err := rev.Issue(context.Background(), tok); err != nil {
			t.Fatalf("Issue %s: %v", tok.Value, err)
		}
	}
	return f
}

func (f *fixture) revoked(t testing.TB, token string) bool {
	t.Helper()
	ok, err := f.rev.IsRevoked(context.Background(), token)
	if err != nil {
		t.Fatalf("IsRevoked: %v", err)
	}
	return ok
}

// flakyStore is a revoke.Store whose Update fails while fail is set.
type flakyStore struct {
	revoke.Store
	fail atomic.Bool
}

var errDisk = errors.New("disk on fire")

func (s *flakyStore) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	if s.fail.Load() {
		return errDisk
	}
	return s.Store.Update(ctx, fn)
}

// logBuffer is a concurrency-safe log sink for tests.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger(b *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newHandler is httpadapter.NewHandler for a configuration that must be
// valid: it fails the test on an error.
func newHandler(t testing.TB, r httpadapter.Revoker, opts ...httpadapter.Option) http.Handler {
	t.Helper()
	h, err := httpadapter.NewHandler(r, opts...)
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	return h
}

// newMiddleware is httpadapter.Middleware for a configuration that must be
// valid: it fails the test on an error.
func newMiddleware(t testing.TB, c httpadapter.Checker, opts ...httpadapter.Option) func(http.Handler) http.Handler {
	t.Helper()
	mw, err := httpadapter.Middleware(c, opts...)
	if err != nil {
		t.Fatalf("Middleware: %v", err)
	}
	return mw
}
