package httpadapter_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

const feedSecret = "feed-secret-0123456789abcdef"

// feedServer serves rv's feed over loopback.
func feedServer(t *testing.T, rv *revoke.Revoker, opts ...httpadapter.FeedOption) *httptest.Server {
	t.Helper()
	h, err := httpadapter.NewFeedHandler(rv, append([]httpadapter.FeedOption{httpadapter.WithFeedSecret(feedSecret),
		httpadapter.WithFeedHeartbeat(20 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(httpadapter.FeedPath, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { _ = rv.Close(); srv.Close() })
	return srv
}

func newFeedRevoker(t *testing.T, opts ...revoke.Option) *revoke.Revoker {
	t.Helper()
	rv, err := revoke.New(memory.New(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return rv
}

func denyList(t *testing.T, rv *revoke.Revoker, toks ...string) {
	t.Helper()
	for _, tok := range toks {
		if _, err := rv.RevokeUntracked(context.Background(), tok, "app", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
}

// getFeed sends a feed request; edit adjusts it. The response's body is
// closed at the end of the test.
func getFeed(t *testing.T, url string, edit func(*http.Request)) *http.Response {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+feedSecret)
	req.Header.Set("Accept", httpadapter.FeedContentType)
	if edit != nil {
		edit(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	return resp
}

// The feed's format, version 2, as the package documentation specifies it.
const (
	feedMediaType = "application/vnd.sdkauth.revocations.v2"
	wireVersion   = 2
	wireIDSize    = 11 // the ID's first 11 bytes
	wireEntrySize = wireIDSize + 4
)

// fingerprint is what an entry carries of a revocation's ID.
type fingerprint [wireIDSize]byte

// fp is the fingerprint of tok's ID.
func fp(tok string) fingerprint {
	id := revoke.TokenID(tok)
	f := fingerprint(id[:wireIDSize])
	f[wireIDSize-1] &^= 3 // the index keeps 86 bits: inside a snapshot, the last two are 0
	return f
}

// wireEntries maps the fingerprints an entries frame carried to their
// expiries, in Unix seconds.
type wireEntries map[fingerprint]uint32

// expiryWithin reports whether the wire expiry got (Unix seconds) is
// between lo, rounded up to the second, and hi, rounded up to the second
// and then by slack: slack 0 for a change, revoke.ExpiryResolution for a
// snapshot entry, which the index keeps rounded up to it.
func expiryWithin(got uint32, lo, hi time.Time, slack time.Duration) bool {
	ceil := func(t time.Time) int64 {
		if t.Nanosecond() > 0 {
			return t.Unix() + 1
		}
		return t.Unix()
	}
	return int64(got) >= ceil(lo) && int64(got) <= ceil(hi)+int64(slack/time.Second)
}

// nearest describes the entry of got that shares the most leading bytes
// with want, for the message of a test that misses want.
func nearest(got wireEntries, want fingerprint) string {
	best, n := fingerprint{}, -1
	for f := range got {
		i := 0
		for i < len(f) && f[i] == want[i] {
			i++
		}
		if i > n {
			best, n = f, i
		}
	}
	if n < 0 {
		return ""
	}
	return fmt.Sprintf(" (the nearest entry, %x, shares %d leading bytes)", best, n)
}

// wireReader decodes the feed's frames as the package documentation
// specifies them.
type wireReader struct {
	t     *testing.T
	r     *bufio.Reader
	bytes int
}

type wireFrame struct {
	typ  byte
	body []byte
}

func (w *wireReader) next() wireFrame {
	w.t.Helper()
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(w.r, hdr); err != nil {
		w.t.Fatalf("reading a frame header: %v", err)
	}
	n := binary.BigEndian.Uint32(hdr[1:])
	rest := make([]byte, n+4)
	if _, err := io.ReadFull(w.r, rest); err != nil {
		w.t.Fatalf("reading a frame: %v", err)
	}
	w.bytes += int(5 + n + 4)
	crc := crc32.Checksum(append(hdr, rest[:n]...), crc32.MakeTable(crc32.Castagnoli))
	if crc != binary.BigEndian.Uint32(rest[n:]) {
		w.t.Fatalf("frame %q: bad CRC", hdr[0])
	}
	return wireFrame{hdr[0], rest[:n]}
}

type wireHello struct {
	version byte
	epoch   uint64
	mode    byte
	after   uint64
	beat    time.Duration
}

func (w *wireReader) hello() wireHello {
	w.t.Helper()
	f := w.next()
	if f.typ != 'H' || len(f.body) != 22 {
		w.t.Fatalf("first frame %q of %d bytes, want a hello of 22", f.typ, len(f.body))
	}
	b := f.body
	return wireHello{b[0], binary.BigEndian.Uint64(b[1:]), b[9], binary.BigEndian.Uint64(b[10:]),
		time.Duration(binary.BigEndian.Uint32(b[18:])) * time.Millisecond}
}

// until reads entries frames into got until a sync frame, and returns its
// position.
func (w *wireReader) until(got wireEntries, first *uint64) uint64 {
	w.t.Helper()
	for {
		f := w.next()
		switch f.typ {
		case 'S':
			return binary.BigEndian.Uint64(f.body)
		case 'E':
			if len(f.body) <= 8 || (len(f.body)-8)%wireEntrySize != 0 {
				w.t.Fatalf("entries frame of %d bytes, want 8 + %d×k", len(f.body), wireEntrySize)
			}
			pos := binary.BigEndian.Uint64(f.body)
			if first != nil && pos != *first {
				w.t.Fatalf("entries at position %d, want %d", pos, *first)
			}
			for e := f.body[8:]; len(e) > 0; e = e[wireEntrySize:] {
				k := fingerprint(e[:wireIDSize])
				k[wireIDSize-1] &^= 3 // as fp
				got[k] = binary.BigEndian.Uint32(e[wireIDSize:])
				if first != nil {
					*first++
				}
			}
		default:
			w.t.Fatalf("unexpected frame %q", f.typ)
		}
	}
}

// TestFeedWireFormat reads the stream as the documentation specifies it
// (version 2): a hello, the snapshot (15-byte entries: the ID's first 11
// bytes and the expiry, rounded up to the index's resolution; at most 16
// bytes a revocation in all), a sync at its position, then the changes at
// consecutive positions, with their exact expiries; a follower that asks to
// resume from a position the log holds gets the changes after it, one whose
// position is gone or of another epoch a snapshot.
func TestFeedWireFormat(t *testing.T) {
	rv := newFeedRevoker(t, revoke.WithChangeLog(16))
	const n = 1500
	toks := make([]string, n)
	for i := range toks {
		toks[i] = fmt.Sprint("tok-", i)
	}
	before := time.Now().Add(time.Hour)
	denyList(t, rv, toks...)
	after := time.Now().Add(time.Hour)
	srv := feedServer(t, rv)
	url := srv.URL + httpadapter.FeedPath

	if httpadapter.FeedContentType != feedMediaType {
		t.Fatalf("FeedContentType = %q, want %q", httpadapter.FeedContentType, feedMediaType)
	}
	resp := getFeed(t, url, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != feedMediaType {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	w := &wireReader{t: t, r: bufio.NewReader(resp.Body)}
	h := w.hello()
	if h.version != wireVersion || h.epoch != rv.Epoch() || h.mode != 'S' || h.beat != 20*time.Millisecond {
		t.Fatalf("hello = %+v", h)
	}
	got := wireEntries{}
	pos := w.until(got, nil)
	if _, head := rv.ChangeRange(); pos != head {
		t.Errorf("snapshot complete at %d, want the head %d", pos, head)
	}
	if len(got) != n {
		t.Fatalf("snapshot of %d entries, want %d", len(got), n)
	}
	missing := 0
	for _, tok := range toks {
		exp, ok := got[fp(tok)]
		if !ok {
			if missing++; missing == 1 {
				t.Errorf("%s missing from the snapshot: no entry of %x%s", tok, fp(tok), nearest(got, fp(tok)))
			}
			continue
		}
		if !expiryWithin(exp, before, after, revoke.ExpiryResolution) {
			t.Fatalf("%s: snapshot expiry %v, want within %v of [%v, %v]", tok,
				time.Unix(int64(exp), 0), revoke.ExpiryResolution, before, after)
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d revocations missing from the snapshot", missing, n)
	}
	if per := float64(w.bytes) / n; per > 16 {
		t.Errorf("%.2f bytes per revocation on the wire, want at most 16", per)
	}

	before = time.Now().Add(time.Hour)
	denyList(t, rv, "later-1", "later-2")
	after = time.Now().Add(time.Hour)
	next := pos + 1
	changes := wireEntries{}
	for len(changes) < 2 {
		w.until(changes, &next)
	}
	for _, tok := range []string{"later-1", "later-2"} {
		if exp, ok := changes[fp(tok)]; !ok || !expiryWithin(exp, before, after, 0) {
			t.Fatalf("%s: streamed %v, expiry %v; want it streamed, expiring within [%v, %v]",
				tok, ok, time.Unix(int64(exp), 0), before, after)
		}
	}

	resume := func(epoch, after uint64) *wireReader {
		r := getFeed(t, fmt.Sprintf("%s?epoch=%016x&after=%d", url, epoch, after), nil)
		return &wireReader{t: t, r: bufio.NewReader(r.Body)}
	}
	w = resume(rv.Epoch(), pos+1)
	if h := w.hello(); h.mode != 'R' || h.after != pos+1 {
		t.Fatalf("resume: hello %+v", h)
	}
	resumed := wireEntries{}
	next = pos + 2
	if p := w.until(resumed, &next); p != pos+2 || len(resumed) != 1 {
		t.Fatalf("resumed at %d with %d entries, want one entry to %d", p, len(resumed), pos+2)
	}
	if _, ok := resumed[fp("later-2")]; !ok {
		t.Fatalf("resumed with %x, want later-2", resumed)
	}
	for name, w := range map[string]*wireReader{
		"gone":          resume(rv.Epoch(), pos-20),
		"another epoch": resume(rv.Epoch()+1, pos),
		"ahead":         resume(rv.Epoch(), pos+100),
	} {
		if h := w.hello(); h.mode != 'S' {
			t.Errorf("%s: hello mode %q, want a snapshot", name, h.mode)
		}
	}
}

// TestFeedSnapshotCarriesImportedEntries: a revocation imported without a
// checksum goes on the wire like any other, by its ID's first 11 bytes,
// with its expiry rounded up to the index's resolution.
func TestFeedSnapshotCarriesImportedEntries(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	id := revoke.TokenID("imported")
	exp := time.Now().Add(time.Hour).UTC()
	rec := revoke.Record{ID: id, Kind: revoke.Access, ClientID: "app", Grant: id, ExpiresAt: exp, Seq: 1}
	if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) }); err != nil {
		t.Fatal(err)
	}
	rv, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	srv := feedServer(t, rv)
	w := &wireReader{t: t, r: bufio.NewReader(getFeed(t, srv.URL+httpadapter.FeedPath, nil).Body)}
	w.hello()
	got := wireEntries{}
	w.until(got, nil)
	if got, ok := got[fp("imported")]; !ok || !expiryWithin(got, exp, exp, revoke.ExpiryResolution) {
		t.Errorf("imported entry: present %v, expiry %v; want present, expiring within %v after %v",
			ok, time.Unix(int64(got), 0), revoke.ExpiryResolution, exp)
	}
	if len(got) != 1 {
		t.Errorf("snapshot of %d entries, want 1", len(got))
	}
}

// TestFeedRequiresAuthentication: without the secret, or with a client the
// feed does not admit, the answer is 401 and no revocation.
func TestFeedRequiresAuthentication(t *testing.T) {
	rv := newFeedRevoker(t)
	denyList(t, rv, "secret-token")
	verify := func(_ context.Context, id, secret string) (bool, error) {
		return (id == "rs" || id == "web") && secret == "pw-"+id, nil
	}
	srv := feedServer(t, rv, httpadapter.WithFeedClientAuth(httpadapter.BasicAuth(verify), "rs"))
	url := srv.URL + httpadapter.FeedPath
	for name, edit := range map[string]func(*http.Request){
		"no credentials":        func(r *http.Request) { r.Header.Del("Authorization") },
		"wrong secret":          func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+feedSecret+"x") },
		"secret as Basic":       func(r *http.Request) { r.SetBasicAuth("rs", feedSecret) },
		"wrong password":        func(r *http.Request) { r.SetBasicAuth("rs", "pw-web") },
		"a client not admitted": func(r *http.Request) { r.SetBasicAuth("web", "pw-web") },
	} {
		resp := getFeed(t, url, edit)
		if resp.StatusCode == http.StatusOK {
			t.Errorf("%s: 200, the feed streams", name)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		id := revoke.TokenID("secret-token")
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" ||
			resp.Header.Get("Content-Type") != "application/json" || strings.Contains(string(body), string(id[:8])) {
			t.Errorf("%s: %d, WWW-Authenticate %q, Content-Type %q, body %q; want 401 with a JSON message",
				name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Content-Type"), body)
		}
	}
	for name, edit := range map[string]func(*http.Request){
		"secret":          nil,
		"admitted client": func(r *http.Request) { r.Header.Del("Authorization"); r.SetBasicAuth("rs", "pw-rs") },
	} {
		if resp := getFeed(t, url, edit); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d, want 200", name, resp.StatusCode)
		}
	}
}

// TestFeedRefusals: the methods, formats and positions the feed refuses. A
// follower of version 1 (or of a version to come) gets 406, whose message
// names the version served.
func TestFeedRefusals(t *testing.T) {
	rv := newFeedRevoker(t)
	srv := feedServer(t, rv)
	url := srv.URL + httpadapter.FeedPath
	for _, other := range []string{"application/vnd.sdkauth.revocations.v1", "application/vnd.sdkauth.revocations.v3"} {
		resp := getFeed(t, url, func(r *http.Request) { r.Header.Set("Accept", other) })
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("a follower of %s: 200, the feed streams", other)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusNotAcceptable || resp.Header.Get("Content-Type") != "application/json" ||
			!strings.Contains(string(body), feedMediaType) {
			t.Errorf("a follower of %s: %d %s, want 406 naming the format served, %s", other, resp.StatusCode, body, feedMediaType)
		}
	}
	// A weight of 0 means "not acceptable" (RFC 9110, section 12.4.2), and
	// the most specific range that matches is the one that counts.
	for _, refused := range []string{
		feedMediaType + ";q=0",
		"application/vnd.sdkauth.revocations.v1, " + feedMediaType + "; q=0.0",
		"*/*;q=0",
		"*/*, " + feedMediaType + ";q=0",
	} {
		resp := getFeed(t, url, func(r *http.Request) { r.Header.Set("Accept", refused) })
		if resp.StatusCode != http.StatusNotAcceptable {
			t.Errorf("Accept %q: %d, want 406", refused, resp.StatusCode)
		}
	}
	for _, accept := range []string{"*/*", "text/html, application/*;q=0.5", "", feedMediaType + ";q=0.1", "*/*;q=0, " + feedMediaType} {
		if resp := getFeed(t, url, func(r *http.Request) { r.Header.Set("Accept", accept) }); resp.StatusCode != http.StatusOK {
			t.Errorf("Accept %q: %d, want 200", accept, resp.StatusCode)
		}
	}
	for _, q := range []string{"?epoch=12", "?epoch=zzzzzzzzzzzzzzzz&after=1", "?after=1", "?epoch=0000000000000001&after=-1"} {
		if resp := getFeed(t, url+q, nil); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, url, nil)
	req.Header.Set("Authorization", "Bearer "+feedSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodGet {
		t.Errorf("POST: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestFeedOptionsValidated(t *testing.T) {
	rv := newFeedRevoker(t)
	defer rv.Close()
	auth := httpadapter.WithFeedSecret(feedSecret)
	for name, tc := range map[string]struct {
		rv   *revoke.Revoker
		opts []httpadapter.FeedOption
	}{
		"nil Revoker":       {nil, []httpadapter.FeedOption{auth}},
		"no authentication": {rv, nil},
		"nil option":        {rv, []httpadapter.FeedOption{auth, nil}},
		"short secret":      {rv, []httpadapter.FeedOption{httpadapter.WithFeedSecret("short")}},
		"secret with space": {rv, []httpadapter.FeedOption{httpadapter.WithFeedSecret("a secret with spaces")}},
		"nil client auth":   {rv, []httpadapter.FeedOption{httpadapter.WithFeedClientAuth(nil, "rs")}},
		"no clients":        {rv, []httpadapter.FeedOption{httpadapter.WithFeedClientAuth(httpadapter.BasicAuth(func(context.Context, string, string) (bool, error) { return true, nil }))}},
		"heartbeat":         {rv, []httpadapter.FeedOption{auth, httpadapter.WithFeedHeartbeat(time.Millisecond)}},
		"write timeout":     {rv, []httpadapter.FeedOption{auth, httpadapter.WithFeedWriteTimeout(0)}},
		"max followers":     {rv, []httpadapter.FeedOption{auth, httpadapter.WithFeedMaxFollowers(0)}},
		"nil logger":        {rv, []httpadapter.FeedOption{auth, httpadapter.WithFeedLogger(nil)}},
	} {
		if h, err := httpadapter.NewFeedHandler(tc.rv, tc.opts...); !errors.Is(err, httpadapter.ErrInvalidFeedOption) || h != nil {
			t.Errorf("%s: NewFeedHandler = %v, %v; want ErrInvalidFeedOption", name, h, err)
		}
	}
}

// smallBuffers gives every accepted connection a small send buffer, so that
// a follower that stops reading blocks the server's writes soon.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// TestFeedCutsOffSlowFollower connects a follower that stops reading: the
// server cuts it off, once a write stalls past the write timeout or the
// follower's position falls out of the change log, whichever comes first,
// freeing its stream (the only one allowed); the change log stays within
// its bound meanwhile.
func TestFeedCutsOffSlowFollower(t *testing.T) {
	const logSize = 4096
	rv := newFeedRevoker(t, revoke.WithChangeLog(logSize))
	h, err := httpadapter.NewFeedHandler(rv, httpadapter.WithFeedSecret(feedSecret),
		httpadapter.WithFeedWriteTimeout(100*time.Millisecond), httpadapter.WithFeedMaxFollowers(1))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = smallBuffers{srv.Listener}
	srv.Start()
	t.Cleanup(func() { _ = rv.Close(); srv.Close() })

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", httpadapter.FeedPath, feedSecret)
	// The slow follower holds the only stream: its response has begun (it
	// reads the header, then nothing more), and a second follower is
	// turned away.
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the slow follower's response: %v, %v", resp, err)
	}
	if second := getFeed(t, srv.URL, nil); second.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a second follower beside the only stream: status %d, want 503", second.StatusCode)
	} else {
		second.Body.Close()
	}
	// Revocations pour in; the follower reads none of them.
	total := 0
	for {
		resp := getFeed(t, srv.URL, nil)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break // the slow follower's stream is gone
		}
		for i := range 500 {
			denyList(t, rv, fmt.Sprint("flood-", total+i))
		}
		total += 500
		if oldest, head := rv.ChangeRange(); head-oldest > logSize {
			t.Fatalf("the change log holds %d entries, over its bound of %d", head-oldest, logSize)
		}
		if total > 100_000 {
			t.Fatal("the slow follower was never cut off")
		}
	}
	// What the slow follower finds when it reads at last: a stream that
	// ends, short of the revocations made.
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, err := io.Copy(io.Discard, resp.Body)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the slow follower's stream is still open after %d bytes", n)
	}
	if n >= int64(total*wireEntrySize) {
		t.Errorf("the slow follower read %d bytes, all of the %d revocations", n, total)
	}
	t.Logf("cut off after %d revocations; it had %d bytes of the stream (%v)", total, n, err)
}
