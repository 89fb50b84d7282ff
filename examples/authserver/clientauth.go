package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/sdkauth/revocation/httpadapter"
)

// feedSecretEnv is the environment variable -feed-secret defaults to.
const feedSecretEnv = "REVOKE_FEED_SECRET"

// authFlags are the command line's client authentication and CORS
// settings for the revocation endpoint.
type authFlags struct {
	clients    string // id=secret,... : HTTP Basic client authentication
	secretPost bool   // client_secret_post as well as Basic
	public     string // id,... : clients that may revoke without a secret
	origins    string // origin,... : CORS
	feedSecret string // bearer secret of the revocation feed
}

func (a *authFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.clients, "clients", "", "authenticate clients with HTTP Basic, and serve them token introspection: comma-separated id=secret pairs (DEMO: secrets on the command line)")
	fs.BoolVar(&a.secretPost, "secret-post", false, "with -clients: also accept client_secret_post (client_id and client_secret in the form body)")
	fs.StringVar(&a.public, "public", "", "with -clients: comma-separated IDs of public clients, which revoke without a secret (but may not introspect)")
	fs.StringVar(&a.origins, "cors-origins", "", "comma-separated origins whose pages may call the revocation endpoint (CORS); requests from other origins are refused")
	fs.StringVar(&a.feedSecret, "feed-secret", "", "serve the revocation feed to followers presenting this bearer secret, at least 16 bytes (default $"+feedSecretEnv+")")
}

// feed returns the revocation feed's options, or nil when the feed is not
// served: it is served to followers presenting the bearer secret of
// -feed-secret (or $REVOKE_FEED_SECRET), and with -clients to those clients
// too, by HTTP Basic. The public clients of -public are not among them.
func (a authFlags) feed() ([]httpadapter.FeedOption, error) {
	secret := a.feedSecret
	if secret == "" {
		secret = os.Getenv(feedSecretEnv)
	}
	secrets, err := a.secrets()
	if err != nil {
		return nil, err
	}
	var opts []httpadapter.FeedOption
	if secret != "" {
		opts = append(opts, httpadapter.WithFeedSecret(secret))
	}
	if secrets != nil {
		ids := slices.Sorted(maps.Keys(secrets))
		opts = append(opts, httpadapter.WithFeedClientAuth(httpadapter.BasicAuth(httpadapter.StaticSecrets(secrets)), ids...))
	}
	return opts, nil
}

// secrets returns the client secrets of -clients, none without it.
func (a authFlags) secrets() (map[string]string, error) {
	if a.clients == "" {
		return nil, nil
	}
	secrets := map[string]string{}
	for _, pair := range strings.Split(a.clients, ",") {
		id, secret, ok := strings.Cut(pair, "=")
		if !ok || id == "" || secret == "" {
			return nil, fmt.Errorf("-clients: %q is not id=secret", pair)
		}
		secrets[id] = secret
	}
	return secrets, nil
}

// introspection returns the introspection endpoint's options, or nil
// without -clients: introspection answers authenticated clients only. The
// public clients of -public are not among them, since a client without a
// secret proves nothing.
func (a authFlags) introspection() ([]httpadapter.Option, error) {
	secrets, err := a.secrets()
	if err != nil || secrets == nil {
		return nil, err
	}
	return []httpadapter.Option{httpadapter.WithClientAuth(httpadapter.BasicAuth(httpadapter.StaticSecrets(secrets)))}, nil
}

// options returns the revocation endpoint's options the flags ask for.
func (a authFlags) options() ([]httpadapter.Option, error) {
	var opts []httpadapter.Option
	secrets, err := a.secrets()
	if err != nil {
		return nil, err
	}
	if secrets != nil {
		var ao []httpadapter.AuthOption
		if a.secretPost {
			ao = append(ao, httpadapter.AllowSecretPost())
		}
		if a.public != "" {
			public := strings.Split(a.public, ",")
			ao = append(ao, httpadapter.AllowPublicClients(func(_ context.Context, id string) (bool, error) {
				_, confidential := secrets[id]
				return !confidential && slices.Contains(public, id), nil
			}))
		}
		opts = append(opts, httpadapter.WithClientAuth(httpadapter.BasicAuth(httpadapter.StaticSecrets(secrets), ao...)))
	} else if a.public != "" {
		return nil, fmt.Errorf("-public needs -clients")
	} else if a.secretPost {
		return nil, fmt.Errorf("-secret-post needs -clients")
	}
	if a.origins != "" {
		var allow func(string, string) bool
		err := func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("-cors-origins: %v", p)
				}
			}()
			allow = httpadapter.AllowOrigins(strings.Split(a.origins, ",")...)
			return nil
		}()
		if err != nil {
			return nil, err
		}
		opts = append(opts, httpadapter.WithCORS(httpadapter.CORS{AllowOrigin: allow}))
	}
	return opts, nil
}
