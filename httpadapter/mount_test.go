package httpadapter_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sdkauth/revocation/httpadapter"
)

// TestMount serves the handler from a real ServeMux over HTTP: with Mount,
// a GET gets the handler's JSON 405; with a method pattern, the mux answers
// it in text/plain, which is why Mount exists.
func TestMount(t *testing.T) {
	f := newFixture(t)
	h := newHandler(t, f.rev)
	get := func(mux *http.ServeMux) (*http.Response, string) {
		srv := httptest.NewServer(mux)
		defer srv.Close()
		resp, err := http.Get(srv.URL + httpadapter.Path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	mux := http.NewServeMux()
	httpadapter.Mount(mux, h)
	resp, body := get(mux)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Content-Type") != "application/json" ||
		resp.Header.Get("Allow") != "POST" || body != `{"message":"method not allowed: use POST"}`+"\n" {
		t.Fatalf("Mount: GET answered %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// The wrong way, for contrast.
	wrong := http.NewServeMux()
	wrong.Handle("POST "+httpadapter.Path, h)
	resp, _ = get(wrong)
	if resp.StatusCode != http.StatusMethodNotAllowed || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("a method pattern: GET answered %d %q, expected ServeMux's own text/plain 405", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// And a POST through Mount reaches the handler.
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Post(srv.URL+httpadapter.Path, "application/x-www-form-urlencoded",
		strings.NewReader("token="+accessA1+"&client_id=client-a"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !f.revoked(t, accessA1) {
		t.Fatalf("POST through Mount: %d", resp.StatusCode)
	}
}
