// Command authserver is an example authorization server built on
// github.com/sdkauth/revocation. It serves the token revocation endpoint
// (POST /v1/auth/token/revoke) over a durable store, its metrics, and DEMO
// endpoints that stand in for the rest of an authorization server and an
// API:
//
//	POST /demo/token               mints an access + refresh token pair, or
//	                               rotates a refresh token (grant_type=refresh_token)
//	                               with reuse detection (DEMO ONLY)
//	POST /demo/logout-everywhere   revokes every grant of a subject (DEMO ONLY)
//	GET  /demo/protected           answers a greeting for a live access token it issued
//	POST /v1/auth/token/introspect token introspection (RFC 7662), with -clients only
//	POST /v1/auth/global-token-revocation  Global Token Revocation, with -global-token only
//	GET  /.well-known/jwks.json    the public key of the JWTs and status lists, with -jwt only
//	GET  /statuslists/{list}       Token Status Lists (application/statuslist+jwt), with -jwt only
//	GET  /v1/auth/revocations      the revocation feed for resource servers (package follow),
//	                               with -feed-secret or -clients only
//	GET  /metrics                  Prometheus metrics of the Revoker
//	GET  /openapi.yaml             the OpenAPI document of the revocation endpoint
//
// Usage, from the repository's root (the example is a module of its own):
//
//	go run ./examples/authserver [-addr localhost:8080] [-store bolt|memory|sqlite] [-path FILE] [-reuse-grace 0s]
//		[-clients id=secret,...] [-secret-post] [-public id,...] [-cors-origins https://app.example,...]
//		[-jwt [-issuer URL]] [-global-token SECRET] [-feed-secret SECRET]
//	go run ./examples/authserver -store postgres [-dsn postgres://...] [-table-prefix revoke_] [flags as above]
//	go run ./examples/authserver -store mysql [-dsn user@tcp(host:3306)/db] [-table-prefix revoke_] [flags as above]
//
// With -store postgres or -store mysql (MySQL or MariaDB), any number of
// replicas may run over one database; -dsn defaults to $REVOKE_POSTGRES_DSN
// or $REVOKE_MYSQL_DSN. Over mysql, a replica sees the others' revocations
// within the sync interval (one second), by polling.
//
// -clients turns on HTTP Basic client authentication (client_secret_basic,
// RFC 6749, section 2.3.1) with the given secrets, and the introspection
// endpoint for those clients; -secret-post accepts the same secrets as
// client_id and client_secret in the form body (client_secret_post) too,
// and -public names the clients that may revoke without a secret (but not
// introspect); -cors-origins lets pages of those origins call the
// revocation endpoint, and refuses requests from other origins.
// -reuse-grace is the refresh rotation grace
// window.
//
// -jwt mints the access tokens as ES256 JWTs (iss, sub, client_id, jti,
// iat, exp) with a status claim (draft-ietf-oauth-status-list): their
// entry in a Token Status List the server serves under -issuer (default
// http://, the host of -addr and its port) + /statuslists/, signed with the key
// of its JWKS. A key is drawn at every start (DEMO), so tokens minted
// before a restart no longer verify. -global-token is the bearer token a
// security tool presents to the Global Token Revocation endpoint
// (draft-parecki-oauth-global-token-revocation), which revokes every grant
// of a user the server minted for: {"sub_id": {"format": "opaque", "id":
// SUBJECT}}, or "iss_sub" with the -jwt issuer.
//
// -feed-secret (by default $REVOKE_FEED_SECRET) serves the revocation feed
// to followers that present it as a bearer token (follow.WithBearer); with
// -clients, the feed is also served to those clients by HTTP Basic. Without
// either the feed is not served; a follower without valid credentials gets
// 401. examples/resourceserver follows it (with its own -jwt when this
// server runs with -jwt).
//
// It logs to standard error, with an audit line for every revocation (never
// a raw token), and shuts down cleanly on SIGINT or SIGTERM.
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
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/examples/internal/serve"
	"github.com/sdkauth/revocation/jwtkey"
	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/mysql"
	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "authserver:", err)
		os.Exit(1)
	}
}

// config is what the command line sets.
type config struct {
	addr  string
	store string
	path  string
	auth  authFlags // see clientauth.go
	// reuseGrace is the refresh rotation grace window (revoke.RotationPolicy.ReuseGrace).
	reuseGrace time.Duration
	// jwt mints access tokens as JWTs with a status claim, under issuer.
	jwt    bool
	issuer string
	// globalToken is the bearer token of the Global Token Revocation
	// endpoint; empty serves no such endpoint.
	globalToken string

	dsn, prefix string // -store postgres or mysql
}

// Default file names of the durable stores, in the working directory.
const (
	defaultBoltPath   = "authserver.db"
	defaultSQLitePath = "authserver-sqlite.db" // *.db, *.db-wal, *.db-shm are git-ignored
)

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("authserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.StringVar(&c.addr, "addr", "localhost:8080", "address to listen on")
	fs.StringVar(&c.store, "store", "bolt", "token store: bolt, memory, sqlite, postgres or mysql")
	fs.StringVar(&c.dsn, "dsn", "", "connection string for -store postgres or mysql (default $REVOKE_POSTGRES_DSN or $REVOKE_MYSQL_DSN)")
	fs.StringVar(&c.prefix, "table-prefix", postgres.DefaultTablePrefix, "table prefix for -store postgres or mysql")
	fs.StringVar(&c.path, "path", "", "store file (default "+defaultBoltPath+" for bolt, "+defaultSQLitePath+" for sqlite)")
	c.auth.register(fs)
	fs.DurationVar(&c.reuseGrace, "reuse-grace", 0, "grace window in which the previous refresh token may be presented again after a lost response (0: none)")
	fs.BoolVar(&c.jwt, "jwt", false, "mint access tokens as ES256 JWTs with a status claim, and serve the JWKS and the Token Status Lists")
	fs.StringVar(&c.issuer, "issuer", "", "with -jwt: the issuer URL of the tokens and the base of the status lists (default http://, the host of -addr and its port)")
	fs.StringVar(&c.globalToken, "global-token", "", "serve Global Token Revocation to callers presenting this bearer token (DEMO: a secret on the command line)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if c.issuer != "" && !c.jwt {
		return c, errors.New("-issuer needs -jwt")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case set["path"] && c.store != "bolt" && c.store != "sqlite":
		return c, fmt.Errorf("-path is for -store bolt or sqlite, not %s", c.store)
	case (set["dsn"] || set["table-prefix"]) && c.store != "postgres" && c.store != "mysql":
		return c, fmt.Errorf("-dsn and -table-prefix are for -store postgres or mysql, not %s", c.store)
	}
	if c.dsn == "" {
		switch c.store {
		case "postgres":
			c.dsn = os.Getenv("REVOKE_POSTGRES_DSN")
		case "mysql":
			c.dsn = os.Getenv("REVOKE_MYSQL_DSN")
		}
	}
	if c.path == "" {
		switch c.store {
		case "bolt":
			c.path = defaultBoltPath
		case "sqlite":
			c.path = defaultSQLitePath
		}
	}
	return c, nil
}

// openStore opens the store the configuration names.
func openStore(c config) (revoke.Store, error) {
	switch c.store {
	case "memory":
		return memory.New(), nil
	case "bolt":
		return bolt.Open(c.path)
	case "sqlite":
		return sqlite.Open(c.path)
	case "postgres":
		if c.dsn == "" {
			return nil, errors.New("-store postgres needs -dsn or $REVOKE_POSTGRES_DSN")
		}
		return postgres.Open(context.Background(), c.dsn, postgres.WithTablePrefix(c.prefix))
	case "mysql":
		if c.dsn == "" {
			return nil, errors.New("-store mysql needs -dsn or $REVOKE_MYSQL_DSN")
		}
		return mysql.Open(context.Background(), c.dsn, mysql.WithTablePrefix(c.prefix))
	}
	return nil, fmt.Errorf("unknown store %q (want bolt, memory, sqlite, postgres or mysql)", c.store)
}

// run runs the server with the command line args until ctx is done, then
// shuts it down: it stops accepting connections, waits up to
// serve.ShutdownTimeout for the requests in flight, and closes the Revoker and its
// store. It logs to stderr.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	hopts, err := cfg.auth.options()
	if err != nil {
		return err
	}
	iopts, err := cfg.auth.introspection()
	if err != nil {
		return err
	}
	fopts, err := cfg.auth.feed()
	if err != nil {
		return err
	}
	store, err := openStore(cfg)
	if err != nil {
		return fmt.Errorf("opening %s store: %w", cfg.store, err)
	}
	purge, rotation := revoke.DefaultPurge(), revoke.DefaultRotation()
	purge.Every, rotation.ReuseGrace = 10*time.Minute, cfg.reuseGrace
	ropts := []revoke.Option{revoke.WithLogger(log), revoke.WithPurge(purge), revoke.WithRotation(rotation), revoke.WithObserver(audit(log))}
	if cfg.jwt {
		// A JWT is its issuer and jti, however it is spelled.
		ropts = append(ropts, revoke.WithTokenKey(jwtkey.KeyOrOpaque))
	}
	rev, err := revoke.New(store, ropts...)
	if err != nil {
		_ = store.Close()
		return err
	}
	defer func() {
		if err := rev.Close(); err != nil {
			log.Error("closing the revoker", "err", err)
		}
	}()

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	// The feed's streams last as long as their followers read: they end
	// when the server starts shutting down, so that Shutdown need not wait
	// for them.
	streams, endStreams := context.WithCancel(context.Background())
	defer endStreams()
	defer ln.Close() // Serve closes it too; this covers a failure before
	e := endpoints{revoke: hopts, introspect: iopts, feed: fopts, streams: streams, users: &users{}}
	if cfg.jwt {
		if cfg.issuer == "" {
			cfg.issuer = defaultIssuer(cfg.addr, ln.Addr())
		}
		jm, err := newJWTMode(ctx, rev, cfg.issuer, log)
		if err != nil {
			return err
		}
		defer func() { _ = jm.close() }() // before the Revoker closes
		e.jwt = jm
	}
	if cfg.globalToken != "" {
		e.global = globalRevocation(cfg.globalToken, cfg.issuer, e.users, log)
	}
	handler, err := newServer(rev, log, e)
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
	srv.RegisterOnShutdown(endStreams)
	log.Info("listening", "addr", ln.Addr().String(), "store", cfg.store, "path", storePath(cfg), "issuer", cfg.issuer, "feed", fopts != nil)

	return serve.Run(ctx, srv, ln, log)
}

// audit returns an observer that logs revocations, reuse and store errors:
// an audit trail with client, subject, counts and a short grant reference,
// never a raw token.
func audit(log *slog.Logger) func(revoke.Event) {
	return func(ev revoke.Event) {
		switch ev.Kind {
		case revoke.EventRevoked, revoke.EventReuse:
			level := slog.LevelInfo
			if ev.Kind == revoke.EventReuse {
				level = slog.LevelWarn
			}
			log.Log(context.Background(), level, "audit: "+ev.Kind.String(), "op", ev.Op, "reason", ev.Reason.String(),
				"client", ev.ClientID, "subject", ev.Subject, "grant", ev.Grant, "tokens", ev.Count)
		case revoke.EventStoreError:
			log.Error("audit: store error", "op", ev.Op, "err", ev.Err)
		}
	}
}

// defaultIssuer returns the issuer of -jwt without -issuer: http://, the
// host of addr as given (localhost for none) and the port the server
// listens on, so that -addr localhost:8080 is http://localhost:8080, not
// the address localhost resolved to.
func defaultIssuer(addr string, listening net.Addr) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		host = "localhost"
	}
	_, port, err := net.SplitHostPort(listening.String())
	if err != nil {
		return "http://" + listening.String()
	}
	return "http://" + net.JoinHostPort(host, port)
}

func storePath(c config) string {
	if c.store == "memory" || c.store == "postgres" || c.store == "mysql" { // a DSN may hold a password
		return ""
	}
	return c.path
}
