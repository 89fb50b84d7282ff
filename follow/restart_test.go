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

	// The writer deny-lists tokens one after another, retrying through
	// the restarts, and notes when each was acknowledged.
	type ack struct {
		tok string
		at  time.Time
	}
	var (
		mu    sync.Mutex
		acked []ack
		tried atomic.Int64
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; {
			select {
			case <-stop:
				return
			default:
			}
			tok := fmt.Sprint("tok-", i)
			tried.Store(int64(i + 1))
			_, err := s.rv.Load().RevokeUntracked(context.Background(), tok, "app", time.Now().Add(time.Hour))
			if err != nil {
				if !errors.Is(err, revoke.ErrClosed) {
					t.Error(err)
					return
				}
				time.Sleep(time.Millisecond)
				continue // the same token, on the next Revoker
			}
			mu.Lock()
			acked = append(acked, ack{tok, time.Now()})
			mu.Unlock()
			i++
		}
	})
	// The checker asks every follower about acknowledged tokens.
	var violations atomic.Int64
	wg.Go(func() {
		for j := 0; ; j++ {
			select {
			case <-stop:
				return
			default:
			}
			mu.Lock()
			n := len(acked)
			var a ack
			if n > 0 {
				a = acked[j%n]
			}
			mu.Unlock()
			if n == 0 {
				time.Sleep(time.Millisecond)
				continue
			}
			for _, c := range followers {
				asked := time.Now()
				ok, err := c.IsRevoked(context.Background(), a.tok)
				if !ok && err == nil && asked.Sub(a.at) > maxLag {
					violations.Add(1)
					t.Errorf("%s reported live %v after its revocation", a.tok, asked.Sub(a.at))
				}
			}
			time.Sleep(100 * time.Microsecond)
		}
	})
	ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	for round := range 3 {
		before := ackedCount()
		eventually(t, "revocations between restarts", func() bool { return ackedCount() >= before+50 })
		s.stop()
		time.Sleep(20 * time.Millisecond) // revocations fail meanwhile; the followers find no server
		s.start()
		epoch := s.rv.Load().Epoch()
		for i, c := range followers {
			eventually(t, fmt.Sprint("follower ", i, " on the restarted server"), func() bool { return c.Stats().Epoch == epoch })
		}
		t.Logf("restart %d: %d revocations acknowledged", round+1, ackedCount())
	}
	before := ackedCount()
	eventually(t, "revocations after the last restart", func() bool { return ackedCount() >= before+50 })
	close(stop)
	wg.Wait()

	rv := s.rv.Load()
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
		for k := range tried.Load() {
			tok := fmt.Sprint("tok-", k)
			want, _ := rv.IsRevoked(context.Background(), tok)
			if got, err := c.IsRevoked(context.Background(), tok); got != want || err != nil {
				t.Errorf("follower %d: IsRevoked(%s) = %v, %v; the server says %v", i, tok, got, err, want)
			}
		}
	}
	if n := ackedCount(); rv.Stats().IndexEntries < n {
		t.Errorf("the server holds %d revocations, fewer than the %d acknowledged", rv.Stats().IndexEntries, n)
	}
}
