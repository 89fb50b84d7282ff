package follow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// errLagBound is wrapped by the error of a stream whose heartbeat is not
// below WithMaxLag.
var errLagBound = errors.New("the feed's heartbeat is not below WithMaxLag: an idle follower would be stale between heartbeats")

// run follows the feed until ctx is done, reconnecting after each failure.
// It sends on ready once the first snapshot is loaded, or the error that
// ends New's wait (every URL refused the follower for good).
func (c *Checker) run(ctx context.Context, ready chan<- error) {
	defer c.wg.Done()
	backoff := c.opts.backoffMin
	refusals := 0 // consecutive permanent failures before the first snapshot
	for i := 0; ; i = (i + 1) % len(c.urls) {
		c.current.Store(int32(i))
		synced, err := c.stream(ctx, i, ready)
		if ctx.Err() != nil {
			return
		}
		c.lastErr.Store(&err)
		c.reconnects.Add(1)
		c.opts.log.Warn("follow: feed stream ended; reconnecting", "url", c.urls[i].Redacted(), "err", err)
		if synced {
			backoff = c.opts.backoffMin
		}
		if c.snapshots.Load() == 0 {
			if !permanent(err) {
				refusals = 0
			} else if refusals++; refusals >= len(c.urls) {
				ready <- err
				return
			}
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(2*backoff, c.opts.backoffMax)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// stream opens one stream from URL i and applies it until it fails. synced
// reports whether it delivered a sync frame.
func (c *Checker) stream(ctx context.Context, i int, ready chan<- error) (synced bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var idle atomic.Bool
	watchdog := time.AfterFunc(c.opts.idle, func() { idle.Store(true); cancel() })
	defer watchdog.Stop()
	defer func() {
		if idle.Load() {
			err = fmt.Errorf("no frame within the idle timeout: %w", err)
		}
	}()
	defer func() {
		if err != nil {
			err = fmt.Errorf("%s: %w", c.urls[i].Redacted(), err)
		}
	}()
	resp, err := c.open(ctx, i)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	c.connected.Store(true)
	defer c.connected.Store(false)
	s := &session{c: c, fr: newFrameReader(resp.Body), watchdog: watchdog, idle: c.opts.idle, ready: ready}
	err = s.apply() // before s.synced is read: Go leaves the order of the two in one return unspecified
	return s.synced, err
}

// open sends the request for URL i, resuming from the follower's position
// if it has one, and checks the response's status and format.
func (c *Checker) open(ctx context.Context, i int) (*http.Response, error) {
	u := *c.urls[i]
	if epoch := c.epoch.Load(); epoch != 0 {
		q := u.Query()
		q.Set("epoch", fmt.Sprintf("%016x", epoch))
		q.Set("after", strconv.FormatUint(c.pos.Load(), 10))
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", FeedContentType)
	for _, edit := range c.opts.edit {
		if err := edit(req); err != nil {
			return nil, fmt.Errorf("request editor: %w", err)
		}
	}
	resp, err := c.opts.client.Do(req)
	if err != nil {
		return nil, err
	}
	if err := checkResponse(resp); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// checkResponse returns why resp is not a feed stream this follower reads,
// or nil.
func checkResponse(resp *http.Response) error {
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		detail := fmt.Sprintf("%s: %s", resp.Status, strings.TrimSpace(string(msg)))
		switch resp.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("%w: %s", ErrUnauthorized, detail)
		case http.StatusNotAcceptable, http.StatusUnsupportedMediaType:
			return fmt.Errorf("%w: this follower reads %s; the server answered %s", ErrFormat, FeedContentType, detail)
		}
		return errors.New(detail)
	}
	mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != FeedContentType {
		return fmt.Errorf("%w: this follower reads %s; the server sent %q", ErrFormat, FeedContentType, resp.Header.Get("Content-Type"))
	}
	return nil
}

// session applies the frames of one stream.
type session struct {
	c        *Checker
	fr       *frameReader
	watchdog *time.Timer
	idle     time.Duration
	ready    chan<- error
	synced   bool
	pos      uint64 // position of the last entry applied
}

// apply reads the hello, the snapshot when one comes, and the changes,
// until the stream fails.
func (s *session) apply() error {
	h, err := s.readHello()
	if err != nil {
		return err
	}
	if h.mode == modeSnapshot {
		if err := s.loadSnapshot(h.epoch); err != nil {
			return err
		}
	} else {
		s.pos = h.after
	}
	x := s.c.idx.Load()
	for {
		typ, err := s.frame()
		if err != nil {
			return err
		}
		switch typ {
		case frameEntries:
			first, n := entries(s.fr.body)
			if first != s.pos+1 {
				return fmt.Errorf("%w: entries from position %d after position %d", ErrProtocol, first, s.pos)
			}
			for j := range n {
				x.Add(entry(s.fr.body, j))
			}
			s.pos += uint64(n)
			s.c.pos.Store(s.pos)
		case frameSync:
			if err := s.sync(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%w: frame %q inside a stream", ErrProtocol, typ)
		}
	}
}

// frame reads the next frame and feeds the watchdog.
func (s *session) frame() (byte, error) {
	typ, err := s.fr.next()
	if err == io.EOF {
		return 0, fmt.Errorf("%w: the stream ended", io.ErrUnexpectedEOF)
	}
	if err == nil {
		s.watchdog.Reset(s.idle)
	}
	return typ, err
}

// readHello reads and checks the first frame.
func (s *session) readHello() (hello, error) {
	typ, err := s.frame()
	if err != nil {
		return hello{}, err
	}
	if typ != frameHello {
		return hello{}, fmt.Errorf("%w: the stream starts with frame %q, not a hello", ErrProtocol, typ)
	}
	h := parseHello(s.fr.body)
	c := s.c
	switch {
	case h.version != feedVersion:
		return h, fmt.Errorf("%w: the stream is of version %d; this follower reads %d", ErrFormat, h.version, feedVersion)
	case h.epoch == 0 || (h.mode != modeSnapshot && h.mode != modeResume):
		return h, fmt.Errorf("%w: hello of epoch %d, mode %q", ErrProtocol, h.epoch, h.mode)
	case h.mode == modeResume && (h.epoch != c.epoch.Load() || h.after != c.pos.Load()):
		return h, fmt.Errorf("%w: the server resumes epoch %x after %d; the follower is at epoch %x, %d",
			ErrProtocol, h.epoch, h.after, c.epoch.Load(), c.pos.Load())
	case c.opts.maxLag > 0 && h.heartbeat >= c.opts.maxLag:
		return h, fmt.Errorf("%w (heartbeat %v, max lag %v)", errLagBound, h.heartbeat, c.opts.maxLag)
	}
	// Three heartbeats without a frame: the connection is dead.
	s.idle = max(3*h.heartbeat, time.Second)
	s.watchdog.Reset(s.idle)
	return h, nil
}

// loadSnapshot reads the snapshot into a new index and, at its sync frame,
// puts the new index in place of the old one in one step: until then the
// old index answers, whole.
func (s *session) loadSnapshot(epoch uint64) error {
	x := revoke.NewIndexLoader()
	for {
		typ, err := s.frame()
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: the stream ended inside the snapshot: %w", ErrProtocol, err)
		}
		if err != nil {
			return err
		}
		switch typ {
		case frameEntries:
			first, n := entries(s.fr.body)
			if first != 0 {
				return fmt.Errorf("%w: entries at position %d inside a snapshot", ErrProtocol, first)
			}
			for j := range n {
				x.Add(entry(s.fr.body, j))
			}
		case frameSync:
			pos, lag := parseSync(s.fr.body)
			s.pos = pos
			c := s.c
			c.idx.Store(x.Index())
			c.epoch.Store(epoch)
			c.pos.Store(pos)
			c.markSynced(lag)
			s.synced = true
			if c.snapshots.Add(1) == 1 {
				s.ready <- nil
			}
			return nil
		default:
			return fmt.Errorf("%w: frame %q inside a snapshot", ErrProtocol, typ)
		}
	}
}

// sync applies a sync frame: the follower has every revocation up to its
// position.
func (s *session) sync() error {
	pos, lag := parseSync(s.fr.body)
	if pos != s.pos {
		return fmt.Errorf("%w: sync at position %d, but the follower is at %d", ErrProtocol, pos, s.pos)
	}
	s.c.markSynced(lag)
	s.synced = true
	return nil
}
