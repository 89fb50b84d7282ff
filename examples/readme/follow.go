package readme

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/sdkauth/revocation/follow"
	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/jwtkey"
)

// Follow holds the fragment of the README's "Resource servers": a resource
// server's follower of two auth server replicas' feeds, and its API
// mounted on mux behind the middleware over it.
func Follow(ctx context.Context, mux *http.ServeMux, api http.Handler) error {
	// README: follow
	checker, err := follow.New(ctx, "https://auth-1.example/v1/auth/revocations",
		follow.WithBearer(os.Getenv("REVOKE_FEED_SECRET")),            // the auth server's httpadapter.WithFeedSecret
		follow.WithURLs("https://auth-2.example/v1/auth/revocations"), // replicas, each tried in turn when one fails
		follow.WithMaxLag(5*time.Second),                              // fail closed (503) once 5 s behind the feed
		follow.WithTokenKey(jwtkey.KeyOrOpaque))                       // JWTs: the key the auth server's revoke.WithTokenKey uses
	if err != nil {
		return err // a bad option, refused credentials, or ctx done before the snapshot loaded
	}
	defer checker.Close()
	protect, err := httpadapter.Middleware(checker)
	if err != nil {
		return err // a bad option
	}
	mux.Handle("/api/", protect(api))
	// README end: follow
	return serve(ctx)
}

// serve stands for the rest of a server: it serves until ctx is done.
func serve(ctx context.Context) error {
	<-ctx.Done()
	return nil
}
