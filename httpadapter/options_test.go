package httpadapter_test

import (
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/httpadapter"
	"github.com/sdkauth/revocation/revoke"
)

// Names of the constructors that take an Option.
const (
	ctorHandler       = "NewHandler"
	ctorMiddleware    = "Middleware"
	ctorIntrospection = "NewIntrospectionHandler"
)

// constructors returns the constructors that take an Option, by name, each
// over a valid Revoker (a Checker and Looker for Middleware). Each reports
// whether it returned a handler or middleware, and its error. The
// introspection endpoint is given client authentication before opts,
// since it requires it.
func constructors(t *testing.T) map[string]func(opts ...httpadapter.Option) (bool, error) {
	rev := newFixture(t).rev
	auth := httpadapter.WithClientAuth(httpadapter.BasicAuth(httpadapter.StaticSecrets(introspectionClients)))
	return map[string]func(opts ...httpadapter.Option) (bool, error){
		ctorHandler: func(opts ...httpadapter.Option) (bool, error) {
			h, err := httpadapter.NewHandler(rev, opts...)
			return h != nil, err
		},
		ctorMiddleware: func(opts ...httpadapter.Option) (bool, error) {
			mw, err := httpadapter.Middleware(rev, opts...)
			return mw != nil, err
		},
		ctorIntrospection: func(opts ...httpadapter.Option) (bool, error) {
			h, err := httpadapter.NewIntrospectionHandler(rev, append([]httpadapter.Option{auth}, opts...)...)
			return h != nil, err
		},
	}
}

// optionCase is an Option as its documentation has it: its name, a value it
// takes, values out of its range, and the constructors it applies to.
type optionCase struct {
	name    string
	good    []httpadapter.Option
	bad     map[string]httpadapter.Option
	applies []string
}

func optionCases() []optionCase {
	auth := func(*http.Request, httpadapter.ClaimedClient) (string, error) { return "c", nil }
	allow := httpadapter.AllowOrigins("https://app.example")
	all := []string{ctorHandler, ctorMiddleware, ctorIntrospection}
	endpoints := []string{ctorHandler, ctorIntrospection}
	return []optionCase{
		{
			name:    "WithLogger",
			good:    []httpadapter.Option{httpadapter.WithLogger(slog.New(slog.DiscardHandler))},
			bad:     map[string]httpadapter.Option{"nil": httpadapter.WithLogger(nil)},
			applies: all,
		},
		{
			name: "WithRetryAfter",
			good: []httpadapter.Option{httpadapter.WithRetryAfter(time.Second), httpadapter.WithRetryAfter(time.Hour)},
			bad: map[string]httpadapter.Option{
				"0": httpadapter.WithRetryAfter(0), "under 1s": httpadapter.WithRetryAfter(time.Second - 1),
				"over 1h": httpadapter.WithRetryAfter(time.Hour + 1), "negative": httpadapter.WithRetryAfter(-time.Second),
			},
			applies: all,
		},
		{
			name:    "WithMaxBodyBytes",
			good:    []httpadapter.Option{httpadapter.WithMaxBodyBytes(1)},
			bad:     map[string]httpadapter.Option{"0": httpadapter.WithMaxBodyBytes(0), "-1": httpadapter.WithMaxBodyBytes(-1)},
			applies: endpoints,
		},
		{
			name: "WithMaxTokenLength",
			good: []httpadapter.Option{httpadapter.WithMaxTokenLength(1), httpadapter.WithMaxTokenLength(revoke.MaxTokenLength)},
			bad: map[string]httpadapter.Option{"0": httpadapter.WithMaxTokenLength(0), "-1": httpadapter.WithMaxTokenLength(-1),
				"above revoke.MaxTokenLength": httpadapter.WithMaxTokenLength(revoke.MaxTokenLength + 1)},
			applies: endpoints,
		},
		{
			name: "WithMaxClientIDLength",
			good: []httpadapter.Option{httpadapter.WithMaxClientIDLength(1), httpadapter.WithMaxClientIDLength(revoke.MaxClientIDLength)},
			bad: map[string]httpadapter.Option{"0": httpadapter.WithMaxClientIDLength(0), "-1": httpadapter.WithMaxClientIDLength(-1),
				"above revoke.MaxClientIDLength": httpadapter.WithMaxClientIDLength(revoke.MaxClientIDLength + 1)},
			applies: endpoints,
		},
		{
			name:    "WithClientAuth",
			good:    []httpadapter.Option{httpadapter.WithClientAuth(auth)},
			bad:     map[string]httpadapter.Option{"nil": httpadapter.WithClientAuth(nil)},
			applies: endpoints,
		},
		{
			name: "WithCORS",
			good: []httpadapter.Option{
				httpadapter.WithCORS(httpadapter.CORS{AllowOrigin: allow}),
				httpadapter.WithCORS(httpadapter.CORS{AllowOrigin: allow, MaxAge: 24 * time.Hour}),
			},
			bad: map[string]httpadapter.Option{
				"nil AllowOrigin": httpadapter.WithCORS(httpadapter.CORS{MaxAge: time.Minute}),
				"negative MaxAge": httpadapter.WithCORS(httpadapter.CORS{AllowOrigin: allow, MaxAge: -time.Second}),
				"MaxAge over 24h": httpadapter.WithCORS(httpadapter.CORS{AllowOrigin: allow, MaxAge: 24*time.Hour + time.Second}),
			},
			applies: []string{ctorHandler},
		},
		{
			name:    "RequireIssued",
			good:    []httpadapter.Option{httpadapter.RequireIssued()},
			applies: []string{ctorMiddleware},
		},
		{
			name:    "WithIntrospectionAccess",
			good:    []httpadapter.Option{httpadapter.WithIntrospectionAccess(httpadapter.OwnTokens)},
			bad:     map[string]httpadapter.Option{"nil": httpadapter.WithIntrospectionAccess(nil)},
			applies: []string{ctorIntrospection},
		},
	}
}

// checkRefused fails the test unless the constructor refused its options
// with an error wrapping ErrInvalidOption (and so revoke.ErrInvalidOption)
// whose message holds every one of names, and returned nothing.
func checkRefused(t *testing.T, what string, built bool, err error, names ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	if !errors.Is(err, httpadapter.ErrInvalidOption) || !errors.Is(err, revoke.ErrInvalidOption) {
		t.Errorf("%s: %v, want an error wrapping ErrInvalidOption", what, err)
	}
	for _, n := range names {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("%s: %q does not name %s", what, err, n)
		}
	}
	if built {
		t.Errorf("%s: returned a handler with its error", what)
	}
}

// TestOptionApplies checks each option against each constructor: one that
// applies is taken, at each end of its range; one that does not is an error
// naming the option and the constructor, never ignored.
func TestOptionApplies(t *testing.T) {
	ctors := constructors(t)
	for _, oc := range optionCases() {
		for ctor, build := range ctors {
			for _, opt := range oc.good {
				built, err := build(opt)
				if slices.Contains(oc.applies, ctor) {
					if err != nil || !built {
						t.Errorf("%s(%s): %v", ctor, oc.name, err)
					}
					continue
				}
				checkRefused(t, ctor+"("+oc.name+")", built, err, oc.name, "does not apply to "+ctor)
			}
		}
	}
}

// TestOptionRefusesBadValues checks that a value out of an option's range
// is an error naming the option, from every constructor it applies to,
// rather than a panic or a silent default.
func TestOptionRefusesBadValues(t *testing.T) {
	ctors := constructors(t)
	for _, oc := range optionCases() {
		for what, opt := range oc.bad {
			for _, ctor := range oc.applies {
				built, err := ctors[ctor](opt)
				checkRefused(t, ctor+"("+oc.name+" "+what+")", built, err, oc.name)
			}
		}
	}
}

// TestConstructorsRefuseNilOption checks that a nil Option, wherever it
// stands, is an error naming its position.
func TestConstructorsRefuseNilOption(t *testing.T) {
	nilAt := regexp.MustCompile(`option \d+ is nil`)
	for ctor, build := range constructors(t) {
		for _, opts := range [][]httpadapter.Option{
			{nil},
			{httpadapter.WithRetryAfter(time.Second), nil},
			{nil, httpadapter.WithRetryAfter(time.Second)},
		} {
			built, err := build(opts...)
			checkRefused(t, ctor+" with a nil option", built, err, ctor)
			if err != nil && !nilAt.MatchString(err.Error()) {
				t.Errorf("%s: %q does not say which option is nil", ctor, err)
			}
		}
	}
}

// TestConstructorsRefuseNil checks that a nil Revoker or Checker is an
// error, not a panic nor a handler that fails on its first request.
func TestConstructorsRefuseNil(t *testing.T) {
	auth := httpadapter.WithClientAuth(httpadapter.BasicAuth(httpadapter.StaticSecrets(introspectionClients)))
	h, err := httpadapter.NewHandler(nil)
	checkRefused(t, "NewHandler(nil)", h != nil, err, ctorHandler, "nil Revoker")
	mw, err := httpadapter.Middleware(nil)
	checkRefused(t, "Middleware(nil)", mw != nil, err, ctorMiddleware, "nil Checker")
	h, err = httpadapter.NewIntrospectionHandler(nil, auth)
	checkRefused(t, "NewIntrospectionHandler(nil)", h != nil, err, ctorIntrospection, "nil Revoker")

	// A nil *revoke.Revoker is not == nil once it is a Revoker or a
	// Checker, and would panic on the first request.
	var rev *revoke.Revoker
	h, err = httpadapter.NewHandler(rev)
	checkRefused(t, "NewHandler((*revoke.Revoker)(nil))", h != nil, err, ctorHandler, "nil Revoker")
	mw, err = httpadapter.Middleware(rev)
	checkRefused(t, "Middleware((*revoke.Revoker)(nil))", mw != nil, err, ctorMiddleware, "nil Checker")
}
