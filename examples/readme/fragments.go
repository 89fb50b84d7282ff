package readme

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/jwtkey"
	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// Rotation holds the fragment of the README's "Rotation and reuse": the
// refresh step of a token endpoint, which exchanges the presented refresh
// token for newRefresh and mints access from it.
func Rotation(ctx context.Context, rv *revoke.Revoker, presented, newRefresh, access, client string, refreshExp, accessExp time.Time) error {
	// README: rotation
	err := rv.Rotate(ctx, presented, revoke.Token{Value: newRefresh, Kind: revoke.Refresh, ClientID: client, ExpiresAt: refreshExp})
	switch {
	case errors.Is(err, revoke.ErrReused): // the grant is revoked: answer invalid_grant
	case err != nil: // ErrRevoked, ErrUnknownParent, ErrClientMismatch: invalid_grant too
	default: // mint the access token from the new refresh token
		err = rv.Issue(ctx, revoke.Token{Value: access, Kind: revoke.Access, ClientID: client, Parent: newRefresh, ExpiresAt: accessExp})
	}
	// README end: rotation
	return err
}

// LogOutEverywhere holds the fragment of the README's "Log out everywhere":
// revoking every grant of a subject, then of a client.
func LogOutEverywhere(ctx context.Context, rv *revoke.Revoker) (int, error) {
	//lint:ignore SA4006 the fragment shows two calls, so the first one's results go unread
	// README: log out everywhere
	n, err := rv.RevokeSubject(ctx, "alice") // every grant of alice, across clients
	n, err = rv.RevokeClient(ctx, "web")     // every grant of a client (a leaked client secret)
	// README end: log out everywhere
	return n, err
}

// Clients is the client database of the README's fragments: the secrets of
// confidential clients and which clients are public.
type Clients interface {
	// VerifySecret reports whether secret is the secret of client id,
	// comparing in constant time.
	VerifySecret(ctx context.Context, id, secret string) (bool, error)
	// IsPublic reports whether client id is public (has no secret).
	IsPublic(ctx context.Context, id string) (bool, error)
}

// ClientAuthentication holds the fragment of the README's "Standard OAuth
// clients": the handler mounted on mux with client authentication against
// clients, by HTTP Basic or client_secret_post.
func ClientAuthentication(rv *revoke.Revoker, mux *http.ServeMux, clients Clients) error {
	// README: client authentication
	auth := httpadapter.BasicAuth(clients.VerifySecret, // func(ctx, id, secret) (bool, error); client_secret_basic
		httpadapter.AllowSecretPost(),                    // optional: client_secret_post too
		httpadapter.AllowPublicClients(clients.IsPublic)) // optional: clients without a secret
	h, err := httpadapter.NewHandler(rv, httpadapter.WithClientAuth(auth))
	if err != nil {
		return err // a bad option: nothing is ignored, nothing falls back to a default
	}
	httpadapter.Mount(mux, h)
	// README end: client authentication
	return nil
}

// BrowserClients holds the fragment of the README's "Browser clients (CORS)":
// the handler mounted on mux with client authentication auth and CORS for
// one origin.
func BrowserClients(rv *revoke.Revoker, mux *http.ServeMux, auth httpadapter.ClientAuth) error {
	// README: cors
	h, err := httpadapter.NewHandler(rv,
		httpadapter.WithClientAuth(auth), // with AllowPublicClients for the SPA's client_id
		httpadapter.WithCORS(httpadapter.CORS{
			AllowOrigin: httpadapter.AllowOrigins("https://app.example"), // or func(origin, clientID string) bool
		}))
	if err != nil {
		return err // e.g. a nil AllowOrigin, or a MaxAge over 24 h
	}
	httpadapter.Mount(mux, h) // every method: the preflight (OPTIONS) must reach the handler
	// README end: cors
	return nil
}

// JWTTokenKey holds the first fragment of the README's "JWT access tokens":
// a Revoker over store that identifies JWTs by issuer and ID.
func JWTTokenKey(store revoke.Store) (*revoke.Revoker, error) {
	// README: jwt token key
	rv, err := revoke.New(store, revoke.WithTokenKey(jwtkey.KeyOrOpaque)) // iss + jti for JWTs, opaque tokens as they are
	// README end: jwt token key
	return rv, err
}

// UntrackedJWT holds the second fragment of the README's "JWT access tokens":
// deny-listing a JWT that was never recorded, by its iss and jti claims, until
// exp (its exp claim, in seconds since the epoch).
func UntrackedJWT(ctx context.Context, rv *revoke.Revoker, iss, jti, clientID string, exp int64) error {
	var err error
	// README: untracked jwt
	_, err = rv.RevokeUntracked(ctx, jwtkey.For(iss, jti), clientID, time.Unix(exp, 0))
	// README end: untracked jwt
	return err
}

// Replicas holds the fragment of the README's "Several replicas: postgres":
// a replica's Revoker over a postgres.Store, which serve uses until it
// returns.
func Replicas(ctx context.Context, serve func(*revoke.Revoker) error) error {
	// README: postgres
	store, err := postgres.Open(ctx, "postgres://auth@db:5432/auth") // or postgres.New(ctx, yourSqlxDB)
	if err != nil {
		return err
	}
	follow := revoke.DefaultFollow()
	follow.MaxLag = 5 * time.Second // fail closed past 5 s of lag
	revoker, err := revoke.New(store, revoke.WithFollow(follow))
	// README end: postgres
	if err != nil {
		store.Close()
		return err
	}
	defer revoker.Close() // closes the store too
	return serve(revoker)
}
