package follow_test

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/follow"
	"github.com/sdkauth/revocation/revoke"
)

// The frames of the feed's format, version 2, written here from its
// specification (package httpadapter's documentation) to script servers.
const (
	feedMediaType = "application/vnd.sdkauth.revocations.v2"
	wireVersion   = 2
	wireIDSize    = 11 // an entry: the ID's first 11 bytes, then the expiry (4)
)

func frame(typ byte, body []byte) []byte {
	b := append([]byte{typ}, binary.BigEndian.AppendUint32(nil, uint32(len(body)))...)
	b = append(b, body...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
}

func helloFrame(version byte, epoch uint64, mode byte, after uint64) []byte {
	b := []byte{version}
	b = binary.BigEndian.AppendUint64(b, epoch)
	b = append(b, mode)
	b = binary.BigEndian.AppendUint64(b, after)
	b = binary.BigEndian.AppendUint32(b, 50)
	return frame('H', b)
}

func entriesFrame(first uint64, toks ...string) []byte {
	b := binary.BigEndian.AppendUint64(nil, first)
	for _, tok := range toks {
		id := revoke.TokenID(tok)
		b = append(b, id[:wireIDSize]...)
		b = binary.BigEndian.AppendUint32(b, uint32(time.Now().Add(time.Hour).Unix()))
	}
	return frame('E', b)
}

// v1EntriesFrame is an entries frame of version 1: 40-byte entries of the
// full ID, its check and the expiry.
func v1EntriesFrame(first uint64, toks ...string) []byte {
	b := binary.BigEndian.AppendUint64(nil, first)
	for _, tok := range toks {
		id := revoke.TokenID(tok)
		b = append(b, id[:]...)
		b = binary.BigEndian.AppendUint32(b, revoke.Checksum(tok))
		b = binary.BigEndian.AppendUint32(b, uint32(time.Now().Add(time.Hour).Unix()))
	}
	return frame('E', b)
}

func syncFrame(pos uint64) []byte {
	return frame('S', binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, pos)[:8], 0)[:12])
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// scripted returns a server that answers every request with body as a
// feed stream.
func scripted(t *testing.T, contentType string, status int, body []byte) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestBrokenStreamsNeverReachTheIndex follows a server whose stream is
// truncated or corrupt, then a good one: the broken stream is an error and
// a reconnection (to the next URL), and nothing of it but whole, valid
// frames of a stream whose snapshot completed reaches the index.
func TestBrokenStreamsNeverReachTheIndex(t *testing.T) {
	const epoch = 0x1234
	snapshot := func(toks ...string) []byte {
		return cat(helloFrame(wireVersion, epoch, 'S', 0), entriesFrame(0, toks...))
	}
	flipped := entriesFrame(0, "bogus-crc")
	flipped[20] ^= 1
	short := entriesFrame(0, "bogus-1")
	shortEntry := frame('E', short[5:len(short)-4-1]) // valid CRC, an entry a byte short
	cases := map[string]struct {
		body []byte
		want error
	}{
		"truncated snapshot":          {snapshot("bogus-1")[:40], follow.ErrProtocol},
		"snapshot without its sync":   {snapshot("bogus-1", "bogus-2"), follow.ErrProtocol},
		"snapshot cut inside a frame": {cat(snapshot("bogus-1"), syncFrame(0)[:7]), follow.ErrProtocol},
		"corrupt frame":               {cat(helloFrame(wireVersion, epoch, 'S', 0), flipped, syncFrame(0)), follow.ErrProtocol},
		"positions in a snapshot":     {cat(helloFrame(wireVersion, epoch, 'S', 0), entriesFrame(3, "bogus-1"), syncFrame(3)), follow.ErrProtocol},
		"unknown frame":               {cat(helloFrame(wireVersion, epoch, 'S', 0), frame('X', []byte("bogus"))), follow.ErrProtocol},
		"no hello":                    {cat(entriesFrame(0, "bogus-1"), syncFrame(0)), follow.ErrProtocol},
		"garbage":                     {[]byte("<html>bogus-1 not a feed</html>\n"), follow.ErrProtocol},
		"gap in the changes":          {cat(helloFrame(wireVersion, epoch, 'S', 0), syncFrame(0), entriesFrame(2, "bogus-gap")), follow.ErrProtocol},
		"sync ahead of the changes":   {cat(helloFrame(wireVersion, epoch, 'S', 0), syncFrame(0), entriesFrame(1, "fake-1"), syncFrame(3), entriesFrame(4, "bogus-3")), follow.ErrProtocol},
		"corrupt change":              {cat(helloFrame(wireVersion, epoch, 'S', 0), syncFrame(0), entriesFrame(1, "fake-1"), flipped), follow.ErrProtocol},
		"version 1":                   {cat(helloFrame(1, epoch, 'S', 0), v1EntriesFrame(0, "bogus-1"), syncFrame(0)), follow.ErrFormat},
		"another version":             {cat(helloFrame(3, epoch, 'S', 0), entriesFrame(0, "bogus-1"), syncFrame(0)), follow.ErrFormat},
		"entries of version 1":        {cat(helloFrame(wireVersion, epoch, 'S', 0), v1EntriesFrame(0, "bogus-1"), syncFrame(0)), follow.ErrProtocol},
		"entry cut short":             {cat(helloFrame(wireVersion, epoch, 'S', 0), shortEntry, syncFrame(0)), follow.ErrProtocol},
		"resume it did not ask for":   {cat(helloFrame(wireVersion, epoch, 'R', 7), entriesFrame(8, "bogus-1"), syncFrame(8)), follow.ErrProtocol},
	}
	a := newAuthServer(t, nil, nil)
	revokeNew(t, a.rv, "real-1")
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			bad := scripted(t, follow.FeedContentType, http.StatusOK, tc.body)
			c := follower(t, bad.URL, follow.WithURLs(a.url))
			eventually(t, "the follower on the good server", func() bool {
				st := c.Stats()
				return st.Epoch == a.rv.Epoch() && st.Connected
			})
			st := c.Stats()
			if tc.want != nil && !errors.Is(st.LastError, tc.want) {
				t.Errorf("LastError = %v, want %v", st.LastError, tc.want)
			}
			for _, tok := range []string{"bogus-1", "bogus-2", "bogus-crc", "bogus-gap", "bogus-3"} {
				if revoked(t, c, tok) {
					t.Errorf("%s reached the index", tok)
				}
			}
			if !revoked(t, c, "real-1") || st.Entries != 1 {
				t.Errorf("real-1 %v, %d entries; want true, 1", revoked(t, c, "real-1"), st.Entries)
			}
		})
	}
}

// TestNewFailsOnGarbage: with a broken server only, New keeps trying until
// its context ends, and says what went wrong.
func TestNewFailsOnGarbage(t *testing.T) {
	bad := scripted(t, follow.FeedContentType, http.StatusOK, []byte("garbage"))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := follow.New(ctx, bad.URL, follow.WithBackoff(time.Millisecond, 10*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, follow.ErrProtocol) {
		t.Fatalf("New = %v, want the deadline and ErrProtocol", err)
	}
}

// TestRefusalsEndNewAtOnce: a server that refuses the credentials or the
// format will not change its mind; New says so without waiting for its
// context. A server of version 1 of the format (or of a newer one) is
// refused with ErrFormat and an error naming the version this follower
// reads.
func TestRefusalsEndNewAtOnce(t *testing.T) {
	if follow.FeedContentType != feedMediaType {
		t.Fatalf("FeedContentType = %q, want %q", follow.FeedContentType, feedMediaType)
	}
	a := newAuthServer(t, nil, nil)
	const v1 = "application/vnd.sdkauth.revocations.v1"
	v1Stream := cat(helloFrame(1, 0x1234, 'S', 0), v1EntriesFrame(0, "bogus-1"), syncFrame(0))
	for name, tc := range map[string]struct {
		url  string
		opts []follow.Option
		want error
	}{
		"wrong secret":              {a.url, []follow.Option{follow.WithBearer("not-the-secret-at-all")}, follow.ErrUnauthorized},
		"no credentials":            {a.url, nil, follow.ErrUnauthorized},
		"406 of a version 1 server": {scripted(t, "application/json", http.StatusNotAcceptable, []byte(`{"message":"this server serves the revocation feed as `+v1+` only"}`)).URL, nil, follow.ErrFormat},
		"406 of a newer one":        {scripted(t, "application/json", http.StatusNotAcceptable, []byte(`{"message":"this server serves application/vnd.sdkauth.revocations.v3 only"}`)).URL, nil, follow.ErrFormat},
		"version 1 media type":      {scripted(t, v1, http.StatusOK, v1Stream).URL, nil, follow.ErrFormat},
		"a newer media type":        {scripted(t, "application/vnd.sdkauth.revocations.v3", http.StatusOK, nil).URL, nil, follow.ErrFormat},
		"a version 1 hello":         {scripted(t, feedMediaType, http.StatusOK, v1Stream).URL, nil, follow.ErrFormat},
		"a plain HTML answer":       {scripted(t, "text/html", http.StatusOK, []byte("<html>")).URL, nil, follow.ErrFormat},
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := follow.New(ctx, tc.url, tc.opts...)
			if !errors.Is(err, tc.want) || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("New = %v, want %v at once", err, tc.want)
			}
			if tc.want == follow.ErrFormat && !strings.Contains(err.Error(), feedMediaType) && !strings.Contains(err.Error(), "this follower reads 2") {
				t.Errorf("New = %v, want an error naming the version this follower reads", err)
			}
			t.Log(err)
		})
	}
}

// TestScriptedStreamLoads follows a stream written from the specification
// (version 2: entries of the ID's first 11 bytes and the expiry): every
// entry of the snapshot and of the changes reaches the index, as the token
// it stands for, and nothing else does.
func TestScriptedStreamLoads(t *testing.T) {
	const epoch = 0x5678
	body := cat(helloFrame(wireVersion, epoch, 'S', 0),
		entriesFrame(0, "snap-1", "snap-2"), entriesFrame(0, "snap-3"), syncFrame(4),
		entriesFrame(5, "change-1", "change-2"), syncFrame(6))
	// The stream stays open after its frames, so that the follower does
	// not reconnect and load the snapshot again.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", feedMediaType)
		_, _ = w.Write(body)
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	c := follower(t, srv.URL)
	eventually(t, "the changes", func() bool { return c.Stats().Position == 6 })
	if st := c.Stats(); st.Entries != 5 || st.Epoch != epoch {
		t.Errorf("%d entries, epoch %x; want 5, %x", st.Entries, st.Epoch, epoch)
	}
	for _, tok := range []string{"snap-1", "snap-2", "snap-3", "change-1", "change-2"} {
		if !revoked(t, c, tok) {
			t.Errorf("%s not revoked", tok)
		}
	}
	for _, tok := range []string{"snap-4", "change-3"} {
		if revoked(t, c, tok) {
			t.Errorf("%s revoked", tok)
		}
	}
}

// TestSyncedStreamResetsBackoff follows a server whose every stream
// delivers a snapshot and its sync, then ends: since each stream synced,
// the follower reconnects after the least backoff every time, rather than
// doubling it towards the most.
func TestSyncedStreamResetsBackoff(t *testing.T) {
	body := cat(helloFrame(wireVersion, 0x9abc, 'S', 0), entriesFrame(0, "snap-1"), syncFrame(0))
	srv := scripted(t, feedMediaType, http.StatusOK, body)
	c := follower(t, srv.URL, follow.WithBackoff(time.Millisecond, time.Minute))
	start := time.Now()
	eventually(t, "30 reconnections", func() bool { return c.Stats().Reconnects >= 30 })
	// Doubling from 1ms towards a minute, 30 reconnections would take minutes.
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("30 reconnections took %v", d)
	}
	if st := c.Stats(); st.Snapshots < 30 || !revoked(t, c, "snap-1") {
		t.Fatalf("%d snapshots, snap-1 %v", st.Snapshots, revoked(t, c, "snap-1"))
	}
}
