package httpadapter

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// ErrInvalidClient is what a ClientAuth returns, wrapped, when the request's
// client credentials are missing, malformed or wrong: the handler answers 401
// (invalid_client in the form dialect) with WWW-Authenticate. Any other error
// of a ClientAuth is a failure to check the credentials, not a verdict on
// them: 503 when it wraps revoke.ErrUnavailable or a context error, 500
// otherwise.
var ErrInvalidClient = errors.New("httpadapter: invalid client")

// ClaimedClient is what a revocation request says about its client in its
// body: the JSON dialect's clientId, or the form dialect's client_id and
// client_secret (RFC 6749, section 2.3.1, client_secret_post). Fields the
// request does not carry are empty. None of it is proven.
type ClaimedClient struct {
	// ID is the client the request names, or "".
	ID string
	// Secret is the form's client_secret, or "". The JSON dialect has none.
	Secret string
}

// ClientAuth authenticates the client of a revocation request and returns
// its ID: the client the handler revokes on behalf of. r is the request (its
// body already consumed: read the headers, r.TLS, the context); c is what the
// body claims. A ClientAuth returns an error wrapping ErrInvalidClient when
// the credentials are missing or wrong, and another error when it could not
// check them (a database down); see ErrInvalidClient. It may be called
// concurrently.
//
// The handler enforces the rest: a request whose body names a client (c.ID)
// other than the one authenticated is refused with 401, and the
// authenticated client may revoke only its own tokens (403 in the JSON
// dialect, unauthorized_client in the form dialect).
//
// BasicAuth covers HTTP Basic (client_secret_basic), client_secret_post and
// public clients. Other methods are a function of this type; for example,
// mutual TLS (RFC 8705) with the client named by client_id:
//
//	mtls := func(r *http.Request, c httpadapter.ClaimedClient) (string, error) {
//		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || c.ID == "" {
//			return "", httpadapter.ErrInvalidClient
//		}
//		ok, err := clients.CertificateMatches(r.Context(), c.ID, r.TLS.PeerCertificates[0])
//		if err != nil {
//			return "", err // 500, or 503 if it wraps revoke.ErrUnavailable
//		}
//		if !ok {
//			return "", httpadapter.ErrInvalidClient
//		}
//		return c.ID, nil
//	}
//	h, err := httpadapter.NewHandler(rev, httpadapter.WithClientAuth(mtls))
type ClientAuth func(r *http.Request, c ClaimedClient) (clientID string, err error)

// WithClientAuth makes NewHandler authenticate the client of every request
// with auth, after the request has been validated and before anything is
// revoked (see ClientAuth). The authenticated client is the requester: a
// form request need not carry client_id, and one that names another client
// than the credentials' is refused. Without it (the default) the client named
// in the body is taken on trust; see the package documentation.
// NewIntrospectionHandler requires it, and authenticates its callers with
// auth. It does not apply to Middleware. auth must not be nil.
func WithClientAuth(auth ClientAuth) Option {
	return option("WithClientAuth", forHandler|forIntrospection, func(o *options) error {
		if auth == nil {
			return errors.New("nil ClientAuth")
		}
		o.auth = auth
		return nil
	})
}

// AuthOption configures BasicAuth.
type AuthOption func(*authOptions)

type authOptions struct {
	public     func(ctx context.Context, clientID string) (bool, error)
	secretPost bool
}

// AllowPublicClients lets BasicAuth accept a request without credentials
// that names its client (JSON clientId, form client_id, or Basic credentials
// with an empty secret, as some libraries send) when isPublic reports that
// client public: a client that has no secret (RFC 6749, section 2.1),
// such as a browser or mobile application. isPublic must say no for every
// confidential client, or anyone could revoke its tokens by naming it; its
// error is a 500 or 503, like verify's.
func AllowPublicClients(isPublic func(ctx context.Context, clientID string) (bool, error)) AuthOption {
	if isPublic == nil {
		panic("httpadapter: AllowPublicClients: nil function")
	}
	return func(o *authOptions) { o.public = isPublic }
}

// AllowSecretPost lets BasicAuth accept the client's credentials as the
// form's client_id and client_secret (client_secret_post, RFC 6749, section
// 2.3.1), which the RFC allows but does not recommend; some client libraries
// use it by default (zitadel/oidc's auto-detection, openid-client's
// client_secret_post). The secret is compared by verify, as Basic's is. A
// request using both the Authorization header and client_secret is refused
// (the handler answers invalid_request: RFC 6749, section 2.3 allows one
// method per request).
func AllowSecretPost() AuthOption {
	return func(o *authOptions) { o.secretPost = true }
}

// BasicAuth returns a ClientAuth for confidential clients that authenticate
// with HTTP Basic (client_secret_basic), as RFC 6749, section 2.3.1 has it:
// the client ID and secret are each form-urlencoded and then joined with ':'
// and base64-encoded, so BasicAuth decodes both ("+" is a space, "%3A" a
// colon) before calling verify with them. verify reports whether secret is
// the client's secret; it must compare in constant time (StaticSecrets
// does), and its error (the client database is unreachable) is answered 500,
// or 503 if it wraps revoke.ErrUnavailable, never 401. With the options,
// public clients and client_secret_post are accepted too. A request with
// more than one Authorization header is refused whatever they hold (the
// handler answers it invalid_request before BasicAuth is called). BasicAuth
// panics if verify is nil.
func BasicAuth(verify func(ctx context.Context, clientID, secret string) (bool, error), opts ...AuthOption) ClientAuth {
	if verify == nil {
		panic("httpadapter: BasicAuth: nil verify")
	}
	var o authOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return func(r *http.Request, c ClaimedClient) (string, error) {
		ctx := r.Context()
		user, pass, basic := r.BasicAuth()
		_, hasAuth := r.Header["Authorization"]
		switch {
		case len(r.Header["Authorization"]) > 1:
			return "", fmt.Errorf("%w: more than one Authorization header", ErrInvalidClient)
		case basic && c.Secret != "":
			return "", fmt.Errorf("%w: more than one authentication method", ErrInvalidClient)
		case hasAuth && !basic:
			return "", fmt.Errorf("%w: Authorization header is not Basic credentials", ErrInvalidClient)
		case basic:
			id, err1 := url.QueryUnescape(user)
			secret, err2 := url.QueryUnescape(pass)
			if err1 != nil || err2 != nil || id == "" {
				return "", fmt.Errorf("%w: malformed Basic credentials", ErrInvalidClient)
			}
			if secret == "" && o.public != nil {
				// Some libraries send a public client's ID as Basic with
				// an empty secret.
				return public(ctx, o.public, id)
			}
			return check(ctx, verify, id, secret)
		case c.Secret != "":
			if !o.secretPost {
				return "", fmt.Errorf("%w: client_secret in the body is not accepted", ErrInvalidClient)
			}
			if c.ID == "" {
				return "", fmt.Errorf("%w: client_secret without client_id", ErrInvalidClient)
			}
			return check(ctx, verify, c.ID, c.Secret)
		case c.ID != "" && o.public != nil:
			return public(ctx, o.public, c.ID)
		}
		return "", fmt.Errorf("%w: no client credentials", ErrInvalidClient)
	}
}

// credentialsProblem returns the error_description of the invalid_request a
// form request's client credentials make, or "": more than one Authorization
// header (which of them authenticates would depend on who reads them), or
// the header together with client_secret in the body (two authentication
// methods, which RFC 6749, section 2.3 forbids).
func credentialsProblem(h http.Header, secret string) string {
	switch n := len(h["Authorization"]); {
	case n > 1:
		return "the Authorization header must appear only once"
	case n == 1 && secret != "":
		return "more than one client authentication method: send the Authorization header or client_secret, not both"
	}
	return ""
}

func public(ctx context.Context, isPublic func(context.Context, string) (bool, error), id string) (string, error) {
	ok, err := isPublic(ctx, id)
	if err != nil {
		return "", fmt.Errorf("httpadapter: checking for a public client: %w", err)
	}
	if !ok {
		return "", fmt.Errorf("%w: client is not public and sent no secret", ErrInvalidClient)
	}
	return id, nil
}

func check(ctx context.Context, verify func(context.Context, string, string) (bool, error), id, secret string) (string, error) {
	ok, err := verify(ctx, id, secret)
	if err != nil {
		return "", fmt.Errorf("httpadapter: verifying client credentials: %w", err)
	}
	if !ok {
		return "", fmt.Errorf("%w: wrong client credentials", ErrInvalidClient)
	}
	return id, nil
}

// StaticSecrets returns a verify function for BasicAuth over a fixed table
// of client IDs and their secrets. It compares in constant time (the SHA-256
// digests of the secrets, so that neither the secret nor its length leaks
// through timing), and takes as long for an unknown client as for a known
// one. It copies secrets. Real deployments keep secrets hashed in their
// client database and verify against that; this is for tests, examples and
// small fixed setups.
func StaticSecrets(secrets map[string]string) func(ctx context.Context, clientID, secret string) (bool, error) {
	digests := make(map[string][sha256.Size]byte, len(secrets))
	for id, s := range secrets {
		digests[id] = sha256.Sum256([]byte(s))
	}
	return func(_ context.Context, clientID, secret string) (bool, error) {
		want, known := digests[clientID]
		got := sha256.Sum256([]byte(secret))
		eq := subtle.ConstantTimeCompare(got[:], want[:]) == 1
		return known && eq, nil
	}
}

// authenticateClient runs auth for the request's claimed client and checks
// what it answers: a client, and the one the body names if it names one.
func authenticateClient(auth ClientAuth, r *http.Request, req revokeRequest) (string, error) {
	client, err := auth(r, ClaimedClient{ID: req.clientID, Secret: req.secret})
	switch {
	case err != nil:
		return "", err
	case client == "":
		return "", errors.New("httpadapter: client authenticator returned no client and no error")
	case req.clientID != "" && client != req.clientID:
		return "", fmt.Errorf("%w: the body names another client than the credentials", ErrInvalidClient)
	}
	return client, nil
}
