package follow_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/follow"
	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/revoke"
)

// restartable is an authorization server on a fixed address over a bolt
// file, which the test stops and starts again: a new Revoker over the same
// file, a new listener on the same address.
type restartable struct {
	t    *testing.T
	path string
	addr string
	rv   atomic.Pointer[revoke.Revoker]
	srv  *http.Server
}

func (s *restartable) start() {
	s.t.Helper()
	store, err := bolt.Open(s.path)
	if err != nil {
		s.t.Fatal(err)
	}
	rv, err := revoke.New(store)
	if err != nil {
		s.t.Fatal(err)
	}
	feed, err := httpadapter.NewFeedHandler(rv, httpadapter.WithFeedSecret(secret), httpadapter.WithFeedHeartbeat(50*time.Millisecond))
	if err != nil {
		s.t.Fatal(err)
	}
	var ln net.Listener
	for range 100 { // the address may take a moment to be free again
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	mux := http.NewServeMux()
	mux.Handle(httpadapter.FeedPath, feed)
	s.srv = &http.Server{Handler: mux}
	go func() { _ = s.srv.Serve(ln) }()
	s.rv.Store(rv)
}

func (s *restartable) stop() {
	_ = s.srv.Close() // the listener and every stream
	_ = s.rv.Load().Close()
}

// ledger holds the revocations acknowledged to the writer, with when.
type ledger struct {
	mu    sync.Mutex
	toks  []string
	at    []time.Time
	tried atomic.Int64 // tokens tok-0 ... attempted
}

func (l *ledger) add(tok string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.toks, l.at = append(l.toks, tok), append(l.at, time.Now())
}

func (l *ledger) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.toks)
}

// pick returns the j-th acknowledged token, modulo their number.
func (l *ledger) pick(j int) (string, time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.toks) == 0 {
		return "", time.Time{}, false
	}
	return l.toks[j%len(l.toks)], l.at[j%len(l.toks)], true
}

// write deny-lists tok-0, tok-1, ... on the server's current Revoker until
// stop closes, retrying a token through a restart.
func (l *ledger) write(t *testing.T, s *restartable, stop <-chan struct{}) {
	for i := 0; ; {
		select {
		case <-stop:
			return
		default:
		}
		tok := fmt.Sprint("tok-", i)
		l.tried.Store(int64(i + 1))
		_, err := s.rv.Load().RevokeUntracked(context.Background(), tok, "app", time.Now().Add(time.Hour))
		switch {
		case errors.Is(err, revoke.ErrClosed):
			time.Sleep(time.Millisecond) // the same token, on the next Revoker
		case err != nil:
			t.Error(err)
			return
		default:
			l.add(tok)
			i++
			// Paced, as revocations are: a writer flat out under the race
			// detector can run a follower's stream a second behind, and
			// Lag counts from when a sync frame arrived, not when it left
			// (see the follow package's Caveats).
			time.Sleep(200 * time.Microsecond)
		}
	}
}

// watch asks every follower about acknowledged tokens until stop closes,
// and fails the test when one answers a token live, without an error, more
// than maxLag after its acknowledgement.
func (l *ledger) watch(t *testing.T, followers []*follow.Checker, maxLag time.Duration, stop <-chan struct{}) {
	for j := 0; ; j++ {
		select {
		case <-stop:
			return
		default:
		}
		tok, at, ok := l.pick(j)
		if !ok {
			time.Sleep(time.Millisecond)
			continue
		}
		for _, c := range followers {
			asked := time.Now()
			if ok, err := c.IsRevoked(context.Background(), tok); !ok && err == nil && asked.Sub(at) > maxLag {
				t.Errorf("%s reported live %v after its revocation", tok, asked.Sub(at))
			}
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// TestFollowersSurviveRestarts restarts the authorization server three
// times while revocations go on: every follower reconnects, reloads (the
// restarted server has a new epoch), and ends with exactly the server's
// revoked set; while it runs, no follower answers a token live (without an
// error) more than its max lag after its revocation was acknowledged.
func TestFollowersSurviveRestarts(t *testing.T) {
	s := &restartable{t: t, path: filepath.Join(t.TempDir(), "auth.db"), addr: "127.0.0.1:0"}
	s.start()
	defer func() { s.stop() }()
	url := "http://" + s.addr + httpadapter.FeedPath
	const maxLag = time.Second
	var followers []*follow.Checker
	for range 3 {
		followers = append(followers, follower(t, url, follow.WithMaxLag(maxLag)))
	}
	l := &ledger{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { l.write(t, s, stop) })
	wg.Go(func() { l.watch(t, followers, maxLag, stop) })
	for round := range 3 {
		before := l.len()
		eventually(t, "revocations between restarts", func() bool { return l.len() >= before+50 })
		s.stop()
		time.Sleep(20 * time.Millisecond) // revocations fail meanwhile; the followers find no server
		s.start()
		epoch := s.rv.Load().Epoch()
		for i, c := range followers {
			eventually(t, fmt.Sprint("follower ", i, " on the restarted server"), func() bool { return c.Stats().Epoch == epoch })
		}
		t.Logf("restart %d: %d revocations acknowledged", round+1, l.len())
	}
	before := l.len()
	eventually(t, "revocations after the last restart", func() bool { return l.len() >= before+50 })
	close(stop)
	wg.Wait()
	sameAsServer(t, s.rv.Load(), followers, int(l.tried.Load()))
	if n := l.len(); s.rv.Load().Stats().IndexEntries < n {
		t.Errorf("the server holds %d revocations, fewer than the %d acknowledged", s.rv.Load().Stats().IndexEntries, n)
	}
}

// sameAsServer waits for each follower to reach rv's head, and checks that
// it holds what rv holds: as many entries, and the same answer for every
// token tok-0 ... tok-(tried-1).
func sameAsServer(t *testing.T, rv *revoke.Revoker, followers []*follow.Checker, tried int) {
	t.Helper()
	ctx := context.Background()
	_, head := rv.ChangeRange()
	for i, c := range followers {
		eventually(t, fmt.Sprint("follower ", i, " caught up"), func() bool {
			st := c.Stats()
			return st.Epoch == rv.Epoch() && st.Position == head && st.Connected
		})
		if st := c.Stats(); st.Entries != rv.Stats().IndexEntries || st.Snapshots < 4 {
			t.Errorf("follower %d: %d entries, %d snapshots; the server holds %d, and restarted 3 times",
				i, st.Entries, st.Snapshots, rv.Stats().IndexEntries)
		}
		for k := range tried {
			tok := fmt.Sprint("tok-", k)
			want, _ := rv.IsRevoked(ctx, tok)
			if got, err := c.IsRevoked(ctx, tok); got != want || err != nil {
				t.Errorf("follower %d: IsRevoked(%s) = %v, %v; the server says %v", i, tok, got, err, want)
			}
		}
	}
}
