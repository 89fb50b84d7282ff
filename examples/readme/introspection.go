package readme

import (
	"net/http"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/revoke"
)

// Introspection holds the fragment of the README's "Token introspection":
// the introspection endpoint mounted on mux for the clients that verify
// authenticates (without public clients).
func Introspection(rv *revoke.Revoker, mux *http.ServeMux, clients Clients) error {
	// README: introspection
	auth := httpadapter.BasicAuth(clients.VerifySecret) // confidential clients only: no AllowPublicClients
	h, err := httpadapter.NewIntrospectionHandler(rv, httpadapter.WithClientAuth(auth))
	if err != nil {
		return err // e.g. no client authentication: introspection never answers anonymous callers
	}
	mux.Handle(httpadapter.IntrospectionPath, h) // every method: a GET gets the endpoint's 405
	// README end: introspection
	return nil
}
