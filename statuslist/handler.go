package statuslist

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MediaType is the media type of a Status List Token in JWT format.
const MediaType = "application/statuslist+jwt"

// ServeHTTP serves GET and HEAD of the base URL's path followed by a list
// number in 16 hexadecimal digits: 200 with the list's Status List Token
// (Content-Type application/statuslist+jwt), its ETag and Cache-Control
// max-age up to the ttl, or 304 for a request whose If-None-Match names
// the ETag. Any list number is served (all 0 without revocations), so any
// replica serves any list. Other answers, each with a JSON {"message"}
// body: 404 for another path, 405 for another method, 406 when Accept
// admits neither application/statuslist+jwt nor a wildcard, 503 with
// Retry-After while the lists may miss revocations (the Issuer is
// reloading after losing its place in the change log, or is closed, or the
// Revoker lags its store by more than WithMaxLag), 500
// when signing fails. Every response allows any origin (CORS), since the
// lists are public.
func (is *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "ETag")
	h.Set("Vary", "Accept")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), is.path)
	id, ok2 := parseID(rest)
	if !ok || !ok2 {
		writeError(w, http.StatusNotFound, "no such status list")
		return
	}
	if !acceptsToken(r.Header.Values("Accept")) {
		writeError(w, http.StatusNotAcceptable, "this server serves "+MediaType+" only")
		return
	}
	is.mu.RLock()
	down := is.stale || is.closed
	is.mu.RUnlock()
	if down || is.o.maxLag > 0 && is.rv.Lag() > is.o.maxLag {
		h.Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "status lists may miss revocations: try again later")
		return
	}
	t, err := is.token(id)
	if err != nil {
		is.o.log.Error("statuslist: serving a list", "list", formatID(id), "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	age := max(is.o.now().Sub(t.iat), 0)
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(max(is.o.ttl-age, 0)/time.Second)))
	h.Set("ETag", t.etag)
	if matchesETag(r.Header.Values("If-None-Match"), t.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", MediaType)
	h.Set("Content-Length", strconv.Itoa(len(t.jws)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(t.jws)
}

// writeError writes a JSON {"message"} body; msg holds no quote or
// backslash.
func writeError(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"message":"` + msg + "\"}\n"))
}

// acceptsToken reports whether the Accept header values admit the Status
// List Token's media type: no Accept at all, or a media range that matches
// it (exactly, application/* or */*) with a q above 0.
func acceptsToken(values []string) bool {
	if len(values) == 0 {
		return true
	}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			if q, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(q, 64); err != nil || f <= 0 {
					continue
				}
			}
			if mt == MediaType || mt == "application/*" || mt == "*/*" {
				return true
			}
		}
	}
	return false
}

// matchesETag reports whether the If-None-Match header values name etag
// (weak comparison, RFC 9110 section 13.1.2) or are "*".
func matchesETag(values []string, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for _, v := range values {
		for _, tag := range strings.Split(v, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" || strings.TrimPrefix(tag, "W/") == want {
				return true
			}
		}
	}
	return false
}
