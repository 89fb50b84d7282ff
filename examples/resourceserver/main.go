// Command resourceserver is an example resource server (an API) built on
// github.com/sdkauth/revocation: it follows the revocation feed of an
// authorization server (examples/authserver, with -feed-secret) with package
// follow, and refuses the tokens that server revoked, from memory, without
// a database or a request to the authorization server per call:
//
//	GET /api/hello   a greeting, behind httpadapter.Middleware(checker)
//	GET /healthz     the follower's state (follow.Checker.Stats): 200, or
//	                 503 while it lags by more than -max-lag
//
// Usage, from the repository's root (the example is a module of its own):
//
//	REVOKE_FEED_SECRET=... go run ./examples/resourceserver [-addr localhost:8081]
//		[-auth-server http://localhost:8080[,http://replica-2:8080,...]] [-feed-secret SECRET | -client id=secret]
//		[-max-lag 0s] [-jwt]
//
// -auth-server names the authorization server, or several of its replicas
// (comma-separated): the follower reads the feed of one at a time, at
// httpadapter.FeedPath, and moves to the next when it fails. It
// authenticates with -feed-secret (by default $REVOKE_FEED_SECRET, the
// auth server's -feed-secret) as a bearer token, or with -client id=secret
// (one of the auth server's -clients) by HTTP Basic. -max-lag makes the API
// fail closed (503) while the follower has not been caught up for longer
// than that; 0 turns the check off. -jwt is for an auth server run with
// -jwt: it identifies a JWT by its issuer and jti, as that server does
// (follow.WithTokenKey(jwtkey.KeyOrOpaque), its revoke.WithTokenKey), so
// that a revoked JWT is refused in every spelling. The two must agree:
// without -jwt, the follower looks a JWT up by its bytes, under which such
// a server never files it, and lets every revoked JWT through.
//
// It starts serving once it has loaded the feed's snapshot (it waits for the
// authorization server until then, logging each failed attempt), logs to
// standard error, and shuts down cleanly on SIGINT or SIGTERM.
//
// The API checks revocation only, as httpadapter.Middleware does: a token
// the authorization server never issued passes too. A real resource server
// verifies its tokens first (a JWT's signature, issuer, audience and expiry
// with its JWT library; an opaque token by introspection).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sdkauth/revocation/examples/internal/serve"
	"github.com/sdkauth/revocation/follow"
	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/jwtkey"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "resourceserver:", err)
		os.Exit(1)
	}
}

// feedSecretEnv is the environment variable -feed-secret defaults to, as
// the auth server's does.
const feedSecretEnv = "REVOKE_FEED_SECRET"

// config is what the command line sets.
type config struct {
	addr       string
	authURLs   []string // feed URLs, one per auth server replica
	feedSecret string
	client     string // id=secret
	maxLag     time.Duration
	jwt        bool // identify JWTs by issuer and jti, as the auth server's -jwt
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("resourceserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var servers string
	fs.StringVar(&c.addr, "addr", "localhost:8081", "address to listen on")
	fs.StringVar(&servers, "auth-server", "http://localhost:8080", "base URL of the authorization server, or comma-separated URLs of its replicas")
	fs.StringVar(&c.feedSecret, "feed-secret", "", "bearer secret of the auth server's revocation feed (default $"+feedSecretEnv+")")
	fs.StringVar(&c.client, "client", "", "id=secret: follow the feed as this client of the auth server's -clients (HTTP Basic) instead")
	fs.DurationVar(&c.maxLag, "max-lag", 0, "answer 503 while the follower has not been caught up with the feed for longer than this (0: never)")
	fs.BoolVar(&c.jwt, "jwt", false, "the auth server runs with -jwt: identify a JWT by its issuer and jti, as it does")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if c.feedSecret == "" && c.client == "" {
		c.feedSecret = os.Getenv(feedSecretEnv)
	}
	switch {
	case c.feedSecret != "" && c.client != "":
		return c, errors.New("-feed-secret and -client: give one")
	case c.feedSecret == "" && c.client == "":
		return c, fmt.Errorf("no credentials for the feed: set $%s (or -feed-secret) to the auth server's -feed-secret, or give -client id=secret", feedSecretEnv)
	}
	for _, s := range strings.Split(servers, ",") {
		u, err := feedURL(s)
		if err != nil {
			return c, err
		}
		c.authURLs = append(c.authURLs, u)
	}
	return c, nil
}

// feedURL returns the feed's URL on the auth server at base.
func feedURL(base string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(base))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("-auth-server: %q is not an http or https URL", base)
	}
	return strings.TrimSuffix(u.String(), "/") + httpadapter.FeedPath, nil
}

// followOptions returns the follower's options the configuration asks for.
func followOptions(c config, log *slog.Logger) ([]follow.Option, error) {
	opts := []follow.Option{follow.WithURLs(c.authURLs[1:]...), follow.WithMaxLag(c.maxLag), follow.WithLogger(log)}
	if c.jwt {
		opts = append(opts, follow.WithTokenKey(jwtkey.KeyOrOpaque)) // the auth server's revoke.WithTokenKey
	}
	if c.feedSecret != "" {
		return append(opts, follow.WithBearer(c.feedSecret)), nil
	}
	id, secret, ok := strings.Cut(c.client, "=")
	if !ok || id == "" || secret == "" {
		return nil, fmt.Errorf("-client: %q is not id=secret", c.client)
	}
	return append(opts, follow.WithRequestEditor(func(r *http.Request) error {
		r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) // RFC 6749, section 2.3.1
		return nil
	})), nil
}

// run runs the server with the command line args until ctx is done: it
// follows the auth server's feed, waiting for its snapshot, then serves the
// API. It then shuts down: it stops accepting connections, waits up to
// serve.ShutdownTimeout for the requests in flight, and stops following. It logs
// to stderr.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	fopts, err := followOptions(cfg, log)
	if err != nil {
		return err
	}
	log.Info("following", "url", cfg.authURLs[0], "more", len(cfg.authURLs)-1)
	checker, err := follow.New(ctx, cfg.authURLs[0], fopts...)
	if err != nil {
		if ctx.Err() != nil { // interrupted while waiting for the auth server
			log.Info("stopped before the feed's snapshot loaded", "err", err)
			return nil
		}
		return err
	}
	defer checker.Close()
	st := checker.Stats()
	log.Info("snapshot loaded", "url", st.URL, "entries", st.Entries, "position", st.Position)

	handler, err := newServer(checker, cfg.maxLag, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String())
	return serve.Run(ctx, srv, ln, log)
}
