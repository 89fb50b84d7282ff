package httpadapter

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CORS configures cross-origin access to the revocation endpoint for
// browser clients (WithCORS).
type CORS struct {
	// AllowOrigin reports whether a page of origin (as the browser sends it
	// in the Origin header, e.g. "https://app.example") may call the endpoint
	// for clientID. clientID is "" when the client is not known yet: for the
	// preflight, which carries no credentials, and for a request refused
	// before its client is authenticated; AllowOrigin should then allow every
	// origin any client may use. Once the client is known (authenticated, or
	// named in the body when there is no authenticator) it is asked again
	// with that client, so origins can be allowed per client. A request
	// whose origin it refuses, at either step, is refused with 403 (see
	// WithCORS). Required; see AllowOrigins for a fixed list. It may be
	// called concurrently.
	AllowOrigin func(origin, clientID string) bool
	// MaxAge is how long a browser may cache a preflight's answer: zero
	// means DefaultCORSMaxAge; it must be between 0 and 24 hours.
	MaxAge time.Duration
}

// DefaultCORSMaxAge is how long browsers may cache a preflight's answer
// unless CORS.MaxAge says otherwise.
const DefaultCORSMaxAge = 10 * time.Minute

// WithCORS makes NewHandler answer browsers' cross-origin requests for the
// origins c allows: the preflight (OPTIONS with Origin and
// Access-Control-Request-Method: POST) gets 204 with
// Access-Control-Allow-Methods: POST, Access-Control-Allow-Headers:
// Authorization, Content-Type and Access-Control-Max-Age, and every response
// to an allowed origin carries Access-Control-Allow-Origin (the origin
// itself) and Access-Control-Expose-Headers: WWW-Authenticate, Retry-After.
// Every response carries Vary: Origin. Credentials mode (cookies) is not
// enabled: clients authenticate with the Authorization header or the form.
// Without WithCORS (the default) no response carries a CORS header, and a
// preflight is a 405 like any other method.
//
// With WithCORS, the Origin header also gates what the endpoint does, since
// CORS alone would only decide what a page may read: a browser sends a
// page's simple form POST without a preflight, and only withholds the
// answer. So a request that carries an Origin header (or several) which c
// does not allow is refused with 403 Forbidden and nothing is revoked:
// before anything else when AllowOrigin refuses the origin for every client
// (clientID ""), a preflight included, and after client authentication when
// it refuses the origin for the authenticated client. The 403's body is
// {"error":"invalid_request",...} for a form POST and {"message":...}
// otherwise. Requests without an Origin header (servers, mobile apps, curl)
// are not affected. Browsers send Origin with same-origin POSTs too: if
// pages of the server's own origin call the endpoint, allow that origin.
//
// WithCORS applies to NewHandler only: the middleware leaves CORS to the API
// it guards, and browsers do not call introspection. c.AllowOrigin must not
// be nil, and c.MaxAge must be between 0 and 24 hours.
func WithCORS(c CORS) Option {
	return option("WithCORS", forHandler, func(o *options) error {
		if c.AllowOrigin == nil {
			return errors.New("nil AllowOrigin")
		}
		if c.MaxAge < 0 || c.MaxAge > 24*time.Hour {
			return fmt.Errorf("MaxAge %v is not between 0 and 24h", c.MaxAge)
		}
		maxAge := c.MaxAge
		if maxAge == 0 {
			maxAge = DefaultCORSMaxAge
		}
		o.cors = &corsConfig{allow: c.AllowOrigin, maxAge: []string{strconv.Itoa(int(maxAge / time.Second))}}
		return nil
	})
}

// AllowOrigins returns a CORS.AllowOrigin that allows the given origins for
// every client. Each must be a serialized origin: scheme, host and optional
// port, nothing else ("https://app.example", "http://localhost:3000"); it is
// matched exactly (case-insensitively in the scheme and host). AllowOrigins
// panics on anything else, "*" included.
func AllowOrigins(origins ...string) func(origin, clientID string) bool {
	set := make(map[string]bool, len(origins))
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.HasSuffix(o, "/") {
			panic("httpadapter: AllowOrigins: " + strconv.Quote(o) + " is not an origin (scheme://host[:port])")
		}
		set[strings.ToLower(o)] = true
	}
	return func(origin, _ string) bool { return set[strings.ToLower(origin)] }
}

type corsConfig struct {
	allow  func(origin, clientID string) bool
	maxAge []string
}

var (
	hdrVaryOrigin   = []string{"Origin"}
	hdrAllowMethods = []string{http.MethodPost}
	hdrAllowHeaders = []string{"Authorization, Content-Type"}
	hdrExpose       = []string{"WWW-Authenticate, Retry-After"}
)

// origin returns the request's Origin when CORS is configured and the
// request has exactly one, else "".
func (h *handler) origin(r *http.Request) string {
	if h.opts.cors == nil {
		return ""
	}
	if v := r.Header["Origin"]; len(v) == 1 {
		return v[0]
	}
	return ""
}

// msgOrigin is the message of the 403 to a request from an origin that
// WithCORS does not allow.
const msgOrigin = "origin not allowed: pages of this origin may not call the endpoint (CORS)"

// originAllowed reports whether the request may be served on behalf of
// clientID ("" while unknown) as far as CORS is concerned: always without
// WithCORS or without an Origin header, else only when it has a single
// Origin that AllowOrigin allows.
func (h *handler) originAllowed(r *http.Request, clientID string) bool {
	if h.opts.cors == nil {
		return true
	}
	switch v := r.Header["Origin"]; len(v) {
	case 0:
		return true
	case 1:
		return h.opts.cors.allow(v[0], clientID)
	}
	return false
}

// refuseOrigin answers 403 to a request from an origin that is not allowed:
// in the form dialect to a form POST, with an Error body otherwise (a
// preflight, another method, another media type).
func (h *handler) refuseOrigin(w http.ResponseWriter, r *http.Request) {
	if d, ok := dialectOf(r.Header); ok && d == dialectForm && r.Method == http.MethodPost {
		writeOAuthError(w, http.StatusForbidden, "invalid_request", msgOrigin)
		return
	}
	writeMessage(w, http.StatusForbidden, msgOrigin)
}

// setCORS sets (or clears) the CORS headers of the response for a request
// from origin on behalf of clientID ("" while unknown).
func (h *handler) setCORS(w http.ResponseWriter, origin, clientID string) {
	if h.opts.cors == nil {
		return
	}
	hd := w.Header()
	switch v := hd["Vary"]; {
	case len(v) == 0:
		hd["Vary"] = hdrVaryOrigin
	case !slices.ContainsFunc(v, variesByOrigin):
		hd["Vary"] = append(v[:len(v):len(v)], "Origin") // beside what an outer handler set
	}
	if origin != "" && h.opts.cors.allow(origin, clientID) {
		hd["Access-Control-Allow-Origin"] = []string{origin}
		hd["Access-Control-Expose-Headers"] = hdrExpose
	} else {
		delete(hd, "Access-Control-Allow-Origin")
		delete(hd, "Access-Control-Expose-Headers")
	}
}

// variesByOrigin reports whether a Vary header value names Origin (or *).
func variesByOrigin(v string) bool {
	for f := range strings.SplitSeq(v, ",") {
		if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, "Origin") {
			return true
		}
	}
	return false
}

// preflight answers a CORS preflight from an allowed origin and reports
// whether the request was one.
func (h *handler) preflight(w http.ResponseWriter, r *http.Request, origin string) bool {
	if r.Method != http.MethodOptions || origin == "" ||
		r.Header.Get("Access-Control-Request-Method") != http.MethodPost ||
		!h.opts.cors.allow(origin, "") {
		return false
	}
	hd := w.Header()
	hd["Access-Control-Allow-Methods"] = hdrAllowMethods
	hd["Access-Control-Allow-Headers"] = hdrAllowHeaders
	hd["Access-Control-Max-Age"] = h.opts.cors.maxAge
	delete(hd, "Access-Control-Expose-Headers")
	hd["Cache-Control"] = hdrNoStore
	hd["Pragma"] = hdrNoCache
	hd["X-Content-Type-Options"] = hdrNoSniff
	w.WriteHeader(http.StatusNoContent)
	return true
}
