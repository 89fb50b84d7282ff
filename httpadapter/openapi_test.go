package httpadapter_test

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/sdkauth/revocation/httpadapter"
)

// contractStatuses are the statuses the handler can answer, each of which
// the project's document lists.
var contractStatuses = []int{200, 400, 401, 403, 405, 413, 415, 500, 503}

// formStatuses are the statuses the handler answers form requests with in
// the form dialect's shapes (405 and 415 have the JSON dialect's).
var formStatuses = []int{200, 400, 401, 403, 413, 500, 503}

// contractSchemas are the body schemas of each status: the SDK's shape, or
// a oneOf of it and the form dialect's OAuthError.
var contractSchemas = map[int]string{
	200: "#/components/schemas/sdk_auth_v1_RevokeTokenResponse",
	400: "#/components/schemas/ValidationErrorOrOAuthError",
	401: "#/components/schemas/ErrorOrOAuthError",
	403: "#/components/schemas/ErrorOrOAuthInvalidRequest",
	405: "#/components/schemas/Error",
	413: "#/components/schemas/ErrorOrOAuthError",
	415: "#/components/schemas/Error",
	500: "#/components/schemas/ErrorOrOAuthError",
	503: "#/components/schemas/ErrorOrOAuthError",
}

func TestMain(m *testing.M) {
	code := m.Run()
	// When the whole suite ran, every status of the contract must have gone
	// through the OpenAPI validator at least once.
	if code == 0 && flag.Lookup("test.run").Value.String() == "" &&
		flag.Lookup("test.fuzz").Value.String() == "" {
		responses.Lock()
		for _, st := range contractStatuses {
			if responses.byStatus[st] == 0 {
				fmt.Fprintf(os.Stderr, "no response with status %d was validated against the OpenAPI document\n", st)
				code = 1
			}
		}
		for _, st := range formStatuses {
			if responses.form[st] == 0 {
				fmt.Fprintf(os.Stderr, "no form dialect response with status %d was validated against the OpenAPI document\n", st)
				code = 1
			}
		}
		responses.Unlock()
	}
	os.Exit(code)
}

func TestOpenAPIDocument(t *testing.T) {
	s := project(t)
	if !s.doc.IsOpenAPI31OrLater() {
		t.Errorf("openapi = %q, want 3.1", s.doc.OpenAPI)
	}
	if n := s.doc.Paths.Len(); n != 1 {
		t.Errorf("%d paths, want 1", n)
	}
	pi := s.doc.Paths.Value(httpadapter.Path)
	if ops := pi.Operations(); len(ops) != 1 {
		t.Errorf("operations %v, want only POST", slices.Collect(mapKeys(ops)))
	}
	for _, st := range contractStatuses {
		checkContractResponse(t, s, st)
	}
	if hr := s.op.Responses.Status(405).Value.Headers["Allow"]; hr == nil || !hr.Value.Required {
		t.Error("405 does not document Allow")
	}
	if hr := s.op.Responses.Status(401).Value.Headers["WWW-Authenticate"]; hr == nil || !hr.Value.Required {
		t.Error("401 does not document WWW-Authenticate")
	}
	if hr := s.op.Responses.Status(503).Value.Headers["Retry-After"]; hr == nil || !hr.Value.Required {
		t.Error("503 does not document Retry-After")
	}
	if mt := s.op.RequestBody.Value.Content.Get("application/x-www-form-urlencoded"); mt == nil ||
		mt.Schema.Ref != "#/components/schemas/RevocationForm" {
		t.Error("the form dialect's request is not documented")
	}
}

// checkContractResponse checks that the document describes the response of
// status st of the contract: its JSON schema and its required headers.
func checkContractResponse(t *testing.T, s *spec, st int) {
	t.Helper()
	r := s.op.Responses.Status(st)
	if r == nil {
		t.Errorf("status %d not documented", st)
		return
	}
	mt := r.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		t.Errorf("status %d: no application/json schema", st)
		return
	}
	if want := contractSchemas[st]; mt.Schema.Ref != want {
		t.Errorf("status %d: schema %q, want %q", st, mt.Schema.Ref, want)
	}
	for _, h := range []string{"Cache-Control", "Pragma"} {
		if hr := r.Value.Headers[h]; hr == nil || !hr.Value.Required {
			t.Errorf("status %d: header %s not documented as required", st, h)
		}
	}
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestOpenAPIAgreesWithSeed checks that the project's document says what
// the SDK's bundle says of the endpoint: the same path and operation, the
// same request body, and compatible schemas for the responses the bundle
// lists (200, 400, default). The project's schemas may be stricter (a
// required field more, a minimum length), never different in shape. The
// handler's responses are validated against both documents as well (see
// serve).
func TestOpenAPIAgreesWithSeed(t *testing.T) {
	ours, theirs := project(t), seed(t)

	if got, want := pathOps(ours.doc), pathOps(theirs.doc); !slices.Contains(got, "POST "+httpadapter.Path) || !slices.Equal(got, want) {
		t.Errorf("operations %q, seed has %q", got, want)
	}
	if ours.op.OperationID != theirs.op.OperationID {
		t.Errorf("operationId %q, seed has %q", ours.op.OperationID, theirs.op.OperationID)
	}
	if !slices.Equal(ours.op.Tags, theirs.op.Tags) {
		t.Errorf("tags %q, seed has %q", ours.op.Tags, theirs.op.Tags)
	}

	ob, tb := ours.op.RequestBody.Value, theirs.op.RequestBody.Value
	if ob.Required != tb.Required {
		t.Errorf("requestBody.required %v, seed has %v", ob.Required, tb.Required)
	}
	// The seed's media type, and the form dialect's beside it.
	if got, want := sortedKeys(ob.Content), sorted(append(sortedKeys(tb.Content), "application/x-www-form-urlencoded")); !slices.Equal(got, want) {
		t.Errorf("request media types %q, want the seed's and the form's, %q", got, want)
	}
	oreq, treq := ob.Content.Get("application/json").Schema.Value, tb.Content.Get("application/json").Schema.Value
	if got, want := sorted(oreq.Required), sorted(treq.Required); !slices.Equal(got, want) || !slices.Equal(got, []string{"clientId", "token"}) {
		t.Errorf("request required %q, seed has %q", got, want)
	}
	compareSchemas(t, "request", oreq, treq)

	for _, status := range []string{"200", "400", "default"} {
		or, tr := ours.op.Responses.Value(status), theirs.op.Responses.Value(status)
		if tr == nil {
			t.Fatalf("seed has no %s response", status)
		}
		if or == nil {
			t.Errorf("no %s response", status)
			continue
		}
		if got, want := sortedKeys(or.Value.Content), sortedKeys(tr.Value.Content); !slices.Equal(got, want) {
			t.Errorf("%s media types %q, seed has %q", status, got, want)
			continue
		}
		compareSchemas(t, status, or.Value.Content.Get("application/json").Schema.Value,
			tr.Value.Content.Get("application/json").Schema.Value)
	}
	// The statuses the project documents beyond the seed's use the seed's
	// Error schema, the one its default response has.
	for _, st := range []int{401, 403, 405, 413, 415, 500, 503} {
		compareSchemas(t, fmt.Sprint(st), ours.op.Responses.Status(st).Value.Content.Get("application/json").Schema.Value,
			theirs.op.Responses.Default().Value.Content.Get("application/json").Schema.Value)
	}
}

func pathOps(doc *openapi3.T) []string {
	var out []string
	for path, pi := range doc.Paths.Map() {
		for m := range pi.Operations() {
			out = append(out, m+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	return sorted(slices.Collect(mapKeys(m)))
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

// compareSchemas checks that ours has the shape of theirs: the same types,
// the same properties with the same shapes, the same items, and every field
// theirs requires required too. Where ours is a oneOf (the SDK's shape or
// the form dialect's), one of its branches must have the shape of theirs.
func compareSchemas(t *testing.T, where string, ours, theirs *openapi3.Schema) {
	t.Helper()
	for _, p := range schemaProblems(where, ours, theirs) {
		t.Error(p)
	}
}

func schemaProblems(where string, ours, theirs *openapi3.Schema) []string {
	if ours == nil || theirs == nil {
		return []string{fmt.Sprintf("%s: missing schema (ours %v, seed's %v)", where, ours != nil, theirs != nil)}
	}
	if len(ours.OneOf) > 0 && len(theirs.OneOf) == 0 {
		var all []string
		for i, b := range ours.OneOf {
			ps := schemaProblems(fmt.Sprintf("%s.oneOf[%d]", where, i), b.Value, theirs)
			if len(ps) == 0 {
				return nil
			}
			all = append(all, ps...)
		}
		return append([]string{where + ": no branch of oneOf has the seed's shape"}, all...)
	}
	var out []string
	if got, want := typesOf(ours), typesOf(theirs); !slices.Equal(got, want) {
		out = append(out, fmt.Sprintf("%s: type %q, seed has %q", where, got, want))
	}
	if got, want := sortedKeys(ours.Properties), sortedKeys(theirs.Properties); !slices.Equal(got, want) {
		out = append(out, fmt.Sprintf("%s: properties %q, seed has %q", where, got, want))
	}
	for _, r := range theirs.Required {
		if !slices.Contains(ours.Required, r) {
			out = append(out, fmt.Sprintf("%s: %q is not required, the seed requires it", where, r))
		}
	}
	for name, tp := range theirs.Properties {
		if op := ours.Properties[name]; op != nil {
			out = append(out, schemaProblems(where+"."+name, op.Value, tp.Value)...)
		}
	}
	if (ours.Items == nil) != (theirs.Items == nil) {
		out = append(out, where+": items differ")
	} else if ours.Items != nil {
		out = append(out, schemaProblems(where+"[]", ours.Items.Value, theirs.Items.Value)...)
	}
	return out
}

func typesOf(s *openapi3.Schema) []string {
	if s.Type == nil {
		return nil
	}
	return sorted(s.Type.Slice())
}

// TestOpenAPIValidatorRejects shows that the validator the tests run every
// response through does reject responses that break the document, so that
// its passing means something.
func TestOpenAPIValidatorRejects(t *testing.T) {
	s := project(t)
	common := func(extra ...string) http.Header {
		h := http.Header{
			"Content-Type":  {"application/json"},
			"Cache-Control": {"no-store"},
			"Pragma":        {"no-cache"},
		}
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] == "" {
				h.Del(extra[i])
			} else {
				h.Set(extra[i], extra[i+1])
			}
		}
		return h
	}
	req := newRequest(http.MethodPost, "application/json", "")
	good := []struct {
		status int
		header http.Header
		body   string
	}{
		{200, common(), `{}`},
		{400, common(), `{"violations":[{"field":"token","description":"required field missing"}]}`},
		{401, common("WWW-Authenticate", `Basic realm="x"`), `{"message":"m"}`},
		{405, common("Allow", "POST"), `{"message":"m"}`},
		{500, common(), `{"message":"m"}`},
		{400, common(), `{"error":"invalid_request","error_description":"d"}`},
		{401, common("WWW-Authenticate", `Basic realm="x"`), `{"error":"invalid_client"}`},
		{503, common("Retry-After", "5"), `{"message":"m"}`},
		{503, common("Retry-After", "5"), `{"error":"temporarily_unavailable","error_description":"d"}`},
		{403, common(), `{"message":"m"}`},
		{403, common(), `{"error":"invalid_request","error_description":"d"}`},
	}
	for _, g := range good {
		if err := s.validate(req, g.status, g.header, []byte(g.body), true, false); err != nil {
			t.Errorf("%d %s: %v", g.status, g.body, err)
		}
	}
	bad := []struct {
		name   string
		status int
		header http.Header
		body   string
	}{
		{"200 not empty", 200, common(), `{"revoked":1}`},
		{"200 array", 200, common(), `[]`},
		{"400 no violations", 400, common(), `{"violations":[]}`},
		{"400 violation without description", 400, common(), `{"violations":[{"field":"token"}]}`},
		{"400 message", 400, common(), `{"message":"m"}`},
		{"500 no message", 500, common(), `{"error":"m"}`},
		{"500 message not a string", 500, common(), `{"message":5}`},
		{"403 not JSON", 403, common(), `forbidden`},
		{"200 without Cache-Control", 200, common("Cache-Control", ""), `{}`},
		{"200 with Cache-Control other", 200, common("Cache-Control", "max-age=60"), `{}`},
		{"400 without Pragma", 400, common("Pragma", ""), `{"violations":[{"field":"a","description":"b"}]}`},
		{"405 without Allow", 405, common(), `{"message":"m"}`},
		{"405 wrong Allow", 405, common("Allow", "GET"), `{"message":"m"}`},
		{"401 without WWW-Authenticate", 401, common(), `{"message":"m"}`},
		{"text/plain", 500, common("Content-Type", "text/plain"), `{"message":"m"}`},
		{"undocumented status", 418, common(), `{"message":"m"}`},
		{"unknown OAuth error code", 400, common(), `{"error":"bad_thing"}`},
		{"OAuth error description not a string", 400, common(), `{"error":"invalid_request","error_description":1}`},
		{"403 in the form shape", 403, common(), `{"error":"unauthorized_client"}`},
		{"503 without Retry-After", 503, common(), `{"message":"m"}`},
		{"503 with a date Retry-After", 503, common("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"), `{"message":"m"}`},
	}
	for _, b := range bad {
		if err := s.validate(req, b.status, b.header, []byte(b.body), true, false); err == nil {
			t.Errorf("%s: validator accepted it", b.name)
		}
	}
	// The form dialect's empty 200: its headers are still validated.
	form := newRequest(http.MethodPost, "application/x-www-form-urlencoded", "")
	empty := http.Header{"Cache-Control": {"no-store"}, "Pragma": {"no-cache"}}
	if err := s.validate(form, 200, empty, nil, true, true); err != nil {
		t.Errorf("form 200: %v", err)
	}
	if err := s.validate(form, 200, http.Header{"Pragma": {"no-cache"}}, nil, true, true); err == nil {
		t.Error("form 200 without Cache-Control: validator accepted it")
	}
	if err := s.validate(form, 200, empty, []byte("{}"), true, true); err == nil {
		t.Error("form 200 with a body: validator accepted it")
	}
}

func TestOpenAPIEmbedded(t *testing.T) {
	data, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != string(httpadapter.OpenAPI) {
		t.Error("httpadapter.OpenAPI differs from openapi.yaml")
	}
	if !strings.HasPrefix(string(httpadapter.OpenAPI), "openapi: 3.1") {
		t.Error("httpadapter.OpenAPI is not an OpenAPI 3.1 document")
	}
}
