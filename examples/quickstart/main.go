// Command quickstart is the README's quick start: an API server that records
// the tokens it mints, serves the revocation endpoint, and refuses bearer
// tokens that are revoked or that it never issued. It compiles and is tested
// with the module, so the README's copy cannot drift from working code.
//
// Usage:
//
//	go run ./examples/quickstart [-addr localhost:8080] [-db revocation.db]
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/revoke"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	db := flag.String("db", "revocation.db", "bolt file that keeps the tokens and revocations")
	flag.Parse()
	if err := run(context.Background(), *addr, *db); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, addr, db string) error {
	store, err := bolt.Open(db)
	if err != nil {
		return err
	}
	purge := revoke.DefaultPurge()
	purge.Every = time.Hour // the janitor purges expired records
	rv, err := revoke.New(store, revoke.WithPurge(purge))
	if err != nil {
		store.Close()
		return err
	}
	defer rv.Close() // closes the store too

	// Where your token endpoint mints a refresh token and an access token:
	refresh, access := rand.Text(), rand.Text()
	now := time.Now()
	if err := rv.Issue(ctx, revoke.Token{Value: refresh, Kind: revoke.Refresh, ClientID: "app", Subject: "alice",
		ExpiresAt: now.Add(30 * 24 * time.Hour)}); err != nil {
		return fmt.Errorf("do not hand the refresh token out: %w", err)
	}
	if err := rv.Issue(ctx, revoke.Token{Value: access, Kind: revoke.Access, ClientID: "app", Parent: refresh,
		ExpiresAt: now.Add(15 * time.Minute)}); err != nil {
		return fmt.Errorf("do not hand the access token out: %w", err)
	}

	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hello") })
	revokeEndpoint, err := httpadapter.NewHandler(rv) // POST /v1/auth/token/revoke (JSON and RFC 7009 forms)
	if err != nil {
		return err
	}
	// 401 for bearer tokens that are revoked, expired, or that rv never issued (a store read each)
	protect, err := httpadapter.Middleware(rv, httpadapter.RequireIssued())
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	httpadapter.Mount(mux, revokeEndpoint)
	mux.Handle("/api/", protect(api))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Printf("listening on %s; try: curl -H 'Authorization: Bearer %s' %s/api/", ln.Addr(), access, ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: time.Minute} // no client holds a connection forever
	return srv.Serve(ln)
}
