package httpadapter_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sdkauth/revocation/httpadapter"
)

// FuzzHandler sends arbitrary bodies with arbitrary content types and
// Authorization headers, in both dialects, to a handler over a real Revoker
// on a memory store holding a few issued tokens; with basicAuth, the handler
// authenticates clients with BasicAuth (public clients and
// client_secret_post allowed). Whatever comes in, the handler must not
// panic, must not answer 5xx while the store is healthy, must list at least
// one violation in every JSON 400, must answer the form dialect's shapes to
// form requests, and must answer with the required headers and match the
// project's OpenAPI document (serve checks all of it).
func FuzzHandler(f *testing.F) {
	for _, seed := range []struct{ body, ct, auth string }{
		{jsonBody(accessA1, "client-a"), "application/json", ""},
		{jsonBody(refreshA, "client-a"), "application/json; charset=utf-8", ""},
		{jsonBody(accessB, "client-a"), "application/json", ""}, // another client's: 403
		{jsonBody("never-issued", "client-x"), "application/json", ""},
		{`{"token":"","clientId":""}`, "application/json", ""},
		{`{"token":1,"clientId":null}`, "application/json", ""},
		{`{"token":"a","token":"b","clientId":"c"}`, "application/json", ""},
		{`{"token":"a","clientId":"c","extra":{"nested":[1,2,{"x":null}]}}`, "application/json", ""},
		{`{"token":"\ud800","clientId":"\u0000"}`, "application/json", ""},
		{"{\"token\":\"\xff\xfe\",\"clientId\":\"c\"}", "application/json", ""},
		{`{"token":"x","clientId":"y"}{}`, "application/json", ""},
		{`{"token":"x",`, "application/json", ""},
		{`[]`, "application/json", ""},
		{`null`, "application/json", ""},
		{`"string"`, "application/json", ""},
		{``, "application/json", ""},
		{`token=x&clientId=y`, "application/x-www-form-urlencoded", ""},
		{jsonBody(accessA1, "client-a"), "", ""},
		{jsonBody(accessA1, "client-a"), "application/json; charset=latin1", ""},
		{jsonBody(strings.Repeat("t", 5000), "client-a"), "application/json", ""},
		{strings.Repeat("[", 10000), "application/json", ""},
		{"token=" + accessA1 + "&client_id=client-a", formCT, ""},
		{"token=" + refreshA + "&token_type_hint=access_token&client_id=client-a", formCT + "; charset=utf-8", ""},
		{"token=" + accessB + "&client_id=client-a", formCT, ""},
		{"token=" + accessA2, formCT, basic("client-a", "secret-a")},
		{"token=" + accessA2 + "&client_id=client-b", formCT, basic("client-a", "secret-a")},
		{"token=" + accessA2, formCT, basic("client-a", "wrong")},
		{"token=" + accessA2 + "&client_id=client-a&client_secret=secret-a", formCT, ""},
		{"token=" + accessA2 + "&client_id=spa", formCT, ""},
		{"token=x&token=y&client_id=c", formCT, ""},
		{"token=%zz;a=b&client_id=%", formCT, "Basic !"},
		{"token=" + accessA1, formCT, "Bearer " + accessA1},
		{`{"token":"` + accessA1 + `","clientId":"client-a"}`, "application/json", basic("client-a", "secret-a")},
	} {
		f.Add([]byte(seed.body), seed.ct, seed.auth, false)
		f.Add([]byte(seed.body), seed.ct, seed.auth, true)
	}
	fx := newFixture(f)
	open := newHandler(f, fx.rev, httpadapter.WithMaxBodyBytes(16<<10))
	authed := newHandler(f, fx.rev, httpadapter.WithMaxBodyBytes(16<<10),
		httpadapter.WithClientAuth(httpadapter.BasicAuth(httpadapter.StaticSecrets(oddSecrets),
			httpadapter.AllowSecretPost(),
			httpadapter.AllowPublicClients(func(_ context.Context, id string) (bool, error) { return id == "spa", nil }))))
	f.Fuzz(func(t *testing.T, body []byte, contentType, authorization string, basicAuth bool) {
		h := open
		if basicAuth {
			h = authed
		}
		req := newRequest(http.MethodPost, "", "")
		req.Body = readCloser{bytes.NewReader(body)}
		req.ContentLength = int64(len(body))
		req.Header["Content-Type"] = []string{contentType}
		if authorization != "" {
			req.Header["Authorization"] = []string{authorization}
		}
		rec := serve(t, h, req) // checks headers, both dialects' shapes, OpenAPI
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
