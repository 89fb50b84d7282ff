package httpadapter

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// FeedPath is where the revocation feed is mounted.
const FeedPath = "/v1/auth/revocations"

// FeedContentType is the media type of the feed, which names its format
// and version (see "The revocation feed" in the package documentation).
const FeedContentType = "application/vnd.sdkauth.revocations.v2"

// NewFeedHandler returns the handler of the revocation feed of rv (mount it
// at FeedPath): a GET streams to an authenticated follower first a snapshot
// of every revocation rv's index holds, then each revocation as it enters
// the index, for as long as the follower reads (see "The revocation feed"
// in the package documentation; package follow is the follower). It serves
// from rv's index and change log (revoke.Revoker.Snapshot, ChangesSince), so
// a follower costs the store nothing, and an idle one a goroutine blocked
// on a channel. A revocation is read from the log and encoded once for all
// the followers that are caught up (see "The revocation feed" in the
// package documentation).
//
// At least one of WithFeedSecret and WithFeedClientAuth is required. The
// error, wrapping ErrInvalidFeedOption, names a nil rv, a nil option, an
// option out of its bounds, or missing authentication.
func NewFeedHandler(rv *revoke.Revoker, opts ...FeedOption) (http.Handler, error) {
	if rv == nil {
		return nil, fmt.Errorf("httpadapter: NewFeedHandler: %w: nil Revoker", ErrInvalidFeedOption)
	}
	o, err := newFeedOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("httpadapter: NewFeedHandler: %w: %w", ErrInvalidFeedOption, err)
	}
	h := &feedHandler{rv: rv, opts: o, slots: make(chan struct{}, o.maxFollowers)}
	h.hub.rv = rv
	return h, nil
}

type feedHandler struct {
	rv    *revoke.Revoker
	opts  feedOptions
	slots chan struct{} // one per stream being served
	hub   feedHub
}

// Messages of the feed's error responses.
const (
	msgFeedMethod     = "method not allowed: the revocation feed is read with GET"
	msgFeedAuth       = "follower authentication required"
	msgFeedNotAccept  = "this server serves the revocation feed as " + FeedContentType + " only, which the request does not accept"
	msgFeedBusy       = "too many followers; retry later"
	msgFeedBadResume  = "epoch must be 16 hexadecimal digits and after a decimal position, both or neither"
	msgFeedAuthFailed = "follower authentication failed"
)

var hdrFeed = []string{FeedContentType}

func (h *feedHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeMessage(w, http.StatusMethodNotAllowed, msgFeedMethod)
		return
	}
	if !h.authorize(w, r) {
		return
	}
	if !acceptsFeed(r.Header.Values("Accept")) {
		writeMessage(w, http.StatusNotAcceptable, msgFeedNotAccept)
		return
	}
	resume, ok := parseResume(r)
	if !ok {
		writeMessage(w, http.StatusBadRequest, msgFeedBadResume)
		return
	}
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	default:
		w.Header()["Retry-After"] = retryAfterHeader(DefaultRetryAfter)
		writeMessage(w, http.StatusServiceUnavailable, msgFeedBusy)
		return
	}
	s := &feedStream{h: h, w: w, rc: http.NewResponseController(w), buf: make([]revoke.Revocation, feedBatch)}
	err := s.serve(r.Context(), resume)
	_ = s.deadline() // the end of the response is written within the write timeout too
	h.opts.log.LogAttrs(r.Context(), slog.LevelDebug, "httpadapter: feed stream ended",
		slog.String("remote", r.RemoteAddr), slog.Any("err", err))
}

// authorize reports whether the request's credentials admit it, having
// answered the request when they do not.
func (h *feedHandler) authorize(w http.ResponseWriter, r *http.Request) bool {
	if len(h.opts.secrets) > 0 {
		if tok, bearer := parseBearer(r.Header.Get("Authorization")); bearer && tok != "" {
			sum := sha256.Sum256([]byte(tok))
			ok := 0
			for i := range h.opts.secrets {
				ok |= subtle.ConstantTimeCompare(sum[:], h.opts.secrets[i][:])
			}
			if ok == 1 {
				return true
			}
		}
	}
	if h.opts.auth != nil {
		id, err := h.opts.auth(r, ClaimedClient{})
		switch {
		case err == nil && h.opts.clients[id]:
			return true
		case err != nil && !errors.Is(err, ErrInvalidClient):
			h.opts.log.LogAttrs(r.Context(), slog.LevelError, "httpadapter: feed client authentication failed", slog.Any("err", err))
			status := http.StatusInternalServerError
			if Unavailable(err) {
				status = http.StatusServiceUnavailable
				w.Header()["Retry-After"] = retryAfterHeader(DefaultRetryAfter)
			}
			writeMessage(w, status, msgFeedAuthFailed)
			return false
		}
	}
	challenge := `Bearer realm="revocations"`
	if len(h.opts.secrets) == 0 {
		challenge = `Basic realm="revocations"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeMessage(w, http.StatusUnauthorized, msgFeedAuth)
	return false
}

// acceptsFeed reports whether the Accept header values admit
// FeedContentType; no Accept header (or an empty one) admits anything. As
// RFC 9110, section 12.5.1 has it, the most specific media range that
// matches FeedContentType decides, and its weight must not be 0 ("q=0" is
// "not acceptable").
func acceptsFeed(vals []string) bool {
	empty := true
	best, q := 0, 0.0 // specificity of the best matching range so far, and its weight
	for _, v := range vals {
		for part := range strings.SplitSeq(v, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			empty = false
			mt, params, err := mime.ParseMediaType(part)
			if s := feedRangeSpecificity(mt); err == nil && s > best {
				best, q = s, acceptWeight(params["q"])
			}
		}
	}
	return empty || q > 0
}

// feedRangeSpecificity is how specifically the media range mt matches
// FeedContentType: 3 for the type itself, 2 for application/*, 1 for */*, 0
// when it does not match.
func feedRangeSpecificity(mt string) int {
	switch mt {
	case FeedContentType:
		return 3
	case "application/*":
		return 2
	case "*/*":
		return 1
	}
	return 0
}

// acceptWeight is the weight of a media range given its q parameter: 1
// when it has none, or one that is not a weight between 0 and 1.
func acceptWeight(q string) float64 {
	w, err := strconv.ParseFloat(q, 64)
	if q == "" || err != nil || w < 0 || w > 1 {
		return 1
	}
	return w
}

// resumePoint is where a follower asks to resume: after position after of
// the change log of epoch. The zero value asks for a snapshot.
type resumePoint struct {
	epoch, after uint64
}

// parseResume reads the query parameters epoch and after.
func parseResume(r *http.Request) (resumePoint, bool) {
	q := r.URL.Query()
	e, a := q["epoch"], q["after"]
	if len(e) == 0 && len(a) == 0 {
		return resumePoint{}, true
	}
	if len(e) != 1 || len(a) != 1 || len(e[0]) != 16 {
		return resumePoint{}, false
	}
	var eb [8]byte
	if _, err := hex.Decode(eb[:], []byte(e[0])); err != nil {
		return resumePoint{}, false
	}
	after, err := strconv.ParseUint(a[0], 10, 64)
	if err != nil {
		return resumePoint{}, false
	}
	epoch := uint64(eb[0])<<56 | uint64(eb[1])<<48 | uint64(eb[2])<<40 | uint64(eb[3])<<32 |
		uint64(eb[4])<<24 | uint64(eb[5])<<16 | uint64(eb[6])<<8 | uint64(eb[7])
	return resumePoint{epoch: epoch, after: after}, true
}

// feedStream is one follower's stream.
type feedStream struct {
	h   *feedHandler
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf []revoke.Revocation
	out []byte // the frames being written
}

// serve writes the stream until the follower goes, falls behind, or the
// Revoker closes, and returns why it ended.
func (s *feedStream) serve(ctx context.Context, resume resumePoint) error {
	rv := s.h.rv
	epoch := rv.Epoch()
	pos, resumed := resume.after, false
	if resume.epoch == epoch {
		_, err := rv.ChangesSince(pos, s.buf[:1])
		resumed = err == nil
	}
	hd := s.w.Header()
	hd["Content-Type"] = hdrFeed
	hd["Cache-Control"] = hdrNoStore
	hd["X-Content-Type-Options"] = hdrNoSniff
	hd.Set("X-Accel-Buffering", "no") // proxies must not hold the stream back
	s.w.WriteHeader(http.StatusOK)
	if resumed {
		s.out = appendHello(s.out[:0], epoch, modeResume, pos, s.h.opts.heartbeat)
	} else {
		s.out = appendHello(s.out[:0], epoch, modeSnapshot, 0, s.h.opts.heartbeat)
		if err := s.write(); err != nil {
			return err
		}
		var err error
		var f snapshotFramer
		pos, err = rv.Snapshot(ctx, s.buf, func(revs []revoke.Revocation) error {
			for i := range revs {
				var full bool
				if s.out, full = f.add(s.out, &revs[i]); full {
					if err := s.write(); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		s.out = f.close(s.out) // the last frame, written with the sync that follows
	}
	return s.follow(ctx, pos)
}

// follow writes the changes after pos as they come, and a sync frame each
// time it has caught up and every heartbeat while idle. s.out may hold
// frames not yet written. Once caught up with the feed's hub, the stream
// rides the hub's chain of bursts; until then, and when it falls behind
// it, it reads the change log itself.
func (s *feedStream) follow(ctx context.Context, pos uint64) error {
	rv := s.h.rv
	heartbeat := time.NewTimer(s.h.opts.heartbeat)
	defer heartbeat.Stop()
	for {
		var err error
		if pos, err = s.catchUp(pos); err != nil {
			return err
		}
		if b := s.h.hub.start(); b.to == pos && b.err == nil {
			if pos, err = s.ride(ctx, b, heartbeat); err != nil {
				return err
			}
			continue
		}
		heartbeat.Reset(s.h.opts.heartbeat)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-rv.ChangeNotify(pos):
		case <-heartbeat.C:
		}
	}
}

// catchUp writes the changes after pos from the change log, then a sync
// frame, and returns the position it reached.
func (s *feedStream) catchUp(pos uint64) (uint64, error) {
	rv := s.h.rv
	for {
		revs, err := rv.ChangesSince(pos, s.buf)
		if err != nil {
			return pos, err // fallen out of the log, or closed: the follower reconnects
		}
		if len(revs) == 0 {
			break
		}
		s.out = appendEntries(s.out, pos+1, revs)
		pos += uint64(len(revs))
		if err := s.write(); err != nil {
			return pos, err
		}
	}
	s.out = appendSync(s.out, pos, rv.Lag())
	return pos, s.flush()
}

// ride writes the hub's bursts that follow b, whose frames end at the
// stream's position (written already), and a sync frame every heartbeat
// while there are none. It returns the position it reached when the
// stream falls behind the hub by more than hubLead, to catch up from the
// change log.
func (s *feedStream) ride(ctx context.Context, b *hubBurstFrames, heartbeat *time.Timer) (uint64, error) {
	for {
		heartbeat.Reset(s.h.opts.heartbeat)
		select {
		case <-ctx.Done():
			return b.to, ctx.Err()
		case <-heartbeat.C:
			if s.h.hub.latest.Load() != b {
				<-b.done // a burst follows: no sync at b.to, which is behind
				break
			}
			s.out = appendSync(s.out, b.to, s.h.rv.Lag())
			if err := s.flush(); err != nil {
				return b.to, err
			}
			continue
		case <-b.done:
		}
		next := b.next
		if next.err != nil {
			return b.to, next.err // fallen out of the log, or closed
		}
		latest := s.h.hub.latest.Load()
		if latest.to > next.from+hubLead {
			return b.to, nil
		}
		frames := next.frames
		if latest != next {
			// A later burst is out: next's sync, read when next was, would
			// tell the follower it was caught up as of now.
			frames = frames[:next.entries]
		}
		if err := s.send(frames); err != nil {
			return b.to, err
		}
		b = next
	}
}

// flush writes s.out, empties it and flushes it to the follower.
func (s *feedStream) flush() error {
	err := s.send(s.out)
	s.out = s.out[:0]
	return err
}

// send writes p within the write timeout and flushes it to the follower.
func (s *feedStream) send(p []byte) error {
	if err := s.deadline(); err != nil {
		return err
	}
	if _, err := s.w.Write(p); err != nil {
		return err
	}
	if err := s.rc.Flush(); err != nil {
		return err
	}
	return s.setDeadline(time.Time{})
}

// write writes s.out within the write timeout and empties it.
func (s *feedStream) write() error {
	if err := s.deadline(); err != nil {
		return err
	}
	_, err := s.w.Write(s.out)
	s.out = s.out[:0]
	if err != nil {
		return err
	}
	return s.setDeadline(time.Time{})
}

// deadline sets the write deadline of the stream's next writes: the write
// timeout from now. Between writes the stream has none, since over HTTP/2
// a deadline that passes ends the stream even while it waits idle.
func (s *feedStream) deadline() error {
	return s.setDeadline(time.Now().Add(s.h.opts.writeTimeout))
}

// setDeadline sets the write deadline of the stream (none when t is zero),
// where the ResponseWriter supports one.
func (s *feedStream) setDeadline(t time.Time) error {
	err := s.rc.SetWriteDeadline(t)
	if err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}
