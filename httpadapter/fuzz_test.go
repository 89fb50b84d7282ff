package httpadapter_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/sdkauth/revocation/httpadapter"
)

// FuzzHandler sends arbitrary bodies with arbitrary content types to a
// handler over a real Revoker on a memory store holding a few issued tokens.
// Whatever comes in, the handler must not panic, must not answer 5xx while
// the store is healthy, must list at least one violation in every 400, and
// must answer JSON with the required headers that matches the project's
// OpenAPI document (serve checks all of it).
func FuzzHandler(f *testing.F) {
	for _, seed := range []struct{ body, ct string }{
		{jsonBody(accessA1, "client-a"), "application/json"},
		{jsonBody(refreshA, "client-a"), "application/json; charset=utf-8"},
		{jsonBody(accessB, "client-a"), "application/json"}, // another client's: 403
		{jsonBody("never-issued", "client-x"), "application/json"},
		{`{"token":"","clientId":""}`, "application/json"},
		{`{"token":1,"clientId":null}`, "application/json"},
		{`{"token":"a","token":"b","clientId":"c"}`, "application/json"},
		{`{"token":"a","clientId":"c","extra":{"nested":[1,2,{"x":null}]}}`, "application/json"},
		{`{"token":"\ud800","clientId":"\u0000"}`, "application/json"},
		{"{\"token\":\"\xff\xfe\",\"clientId\":\"c\"}", "application/json"},
		{`{"token":"x","clientId":"y"}{}`, "application/json"},
		{`{"token":"x",`, "application/json"},
		{`[]`, "application/json"},
		{`null`, "application/json"},
		{`"string"`, "application/json"},
		{``, "application/json"},
		{`token=x&clientId=y`, "application/x-www-form-urlencoded"},
		{jsonBody(accessA1, "client-a"), ""},
		{jsonBody(accessA1, "client-a"), "application/json; charset=latin1"},
		{jsonBody(strings.Repeat("t", 5000), "client-a"), "application/json"},
		{strings.Repeat("[", 10000), "application/json"},
	} {
		f.Add([]byte(seed.body), seed.ct)
	}
	fx := newFixture(f)
	h := httpadapter.NewHandler(fx.rev, httpadapter.WithMaxBodyBytes(16<<10))
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		req := newRequest(http.MethodPost, "", "")
		req.Body = readCloser{bytes.NewReader(body)}
		req.ContentLength = int64(len(body))
		req.Header["Content-Type"] = []string{contentType}
		rec := serve(t, h, req) // checks headers, JSON, violations, OpenAPI
		if rec.Code >= 500 {
			t.Fatalf("status %d on a healthy store; body %s", rec.Code, rec.Body)
		}
		if bytes.Contains(rec.Body.Bytes(), []byte(accessA1)) {
			t.Fatalf("response echoes a token: %s", rec.Body)
		}
	})
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
