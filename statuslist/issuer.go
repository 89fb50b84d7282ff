package statuslist

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/sdkauth/revocation/revoke"
)

// Issuer makes a revoke.Revoker a Token Status List issuer: it hands out
// the entries that tokens carry in their status claim (Allocate), keeps
// every list's bits from the Revoker's revocations, and serves the lists as
// signed Status List Tokens (ServeHTTP). It is safe for concurrent use.
type Issuer struct {
	rv     *revoke.Revoker
	o      options
	base   string // the base URL, without a trailing slash
	path   string // the base URL's path, with a trailing slash
	signer *jwsSigner
	zero   string // the lst of a list without revocations

	alloc allocator

	mu     sync.RWMutex
	lists  map[uint64]*list // the lists that have revocations
	stale  bool             // the change log was lost and the reload has not succeeded yet
	closed bool

	cancel context.CancelFunc
	done   chan struct{}
}

// New returns an Issuer of lists over rv, whose URIs are baseURL followed
// by "/" and the list's number in 16 hexadecimal digits, signed with key.
// baseURL is an absolute http or https URL without a query or fragment,
// where the application mounts the Issuer (see Path). New builds the lists
// from the store (Revoker.Statuses) within ctx, then follows the
// Revoker's change log in a goroutine until Close.
func New(ctx context.Context, rv *revoke.Revoker, baseURL string, key Key, opts ...Option) (*Issuer, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nil Option", ErrInvalidOption)
		}
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidOption, err)
	}
	if rv == nil {
		return nil, fmt.Errorf("%w: nil Revoker", ErrInvalidOption)
	}
	base, path, err := parseBase(baseURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidOption, err)
	}
	signer, err := newJWSSigner(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidOption, err)
	}
	is := &Issuer{
		rv: rv, o: o, base: base, path: path, signer: signer,
		zero:  base64.RawURLEncoding.EncodeToString(zeroList(o.size)),
		alloc: allocator{size: uint32(o.size), random: o.random},
		lists: make(map[uint64]*list),
		done:  make(chan struct{}),
	}
	pos, err := is.reload(ctx)
	if err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	is.cancel = cancel
	go is.run(bg, pos)
	return is, nil
}

// parseBase checks the base URL and returns it without a trailing slash,
// and its path with one.
func parseBase(s string) (base, path string, err error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", "", fmt.Errorf("base URL: %v", err)
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return "", "", fmt.Errorf("base URL %q is not an absolute http or https URL", s)
	case strings.ContainsAny(s, "?#") || u.User != nil: // an empty query or fragment too
		return "", "", fmt.Errorf("base URL %q has a query, a fragment or user information", s)
	}
	// Rebuilt from its parts, so that the URIs are escaped as the requests
	// for them arrive.
	path = strings.TrimSuffix(u.EscapedPath(), "/")
	return u.Scheme + "://" + u.Host + path, path + "/", nil
}

// Close stops following the Revoker and waits for it. Allocate then fails
// with ErrClosed, and ServeHTTP answers 503. It does not close the
// Revoker. Calling it again does nothing.
func (is *Issuer) Close() error {
	is.mu.Lock()
	is.closed = true
	is.mu.Unlock()
	is.alloc.close()
	is.cancel()
	<-is.done
	return nil
}

// Path returns the path of the base URL followed by "/": where to mount
// the Issuer on a ServeMux, for every method (mux.Handle(is.Path(), is)).
func (is *Issuer) Path() string { return is.path }

// URI returns the URI of list number id: the sub claim of its Status List
// Token and the uri of its entries' status claims.
func (is *Issuer) URI(id uint64) string {
	return is.base + "/" + formatID(id)
}

// formatID returns id in 16 lowercase hexadecimal digits.
func formatID(id uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], id)
	return fmt.Sprintf("%x", b[:])
}

// parseID parses 16 lowercase hexadecimal digits of a non-zero number.
func parseID(s string) (uint64, bool) {
	if len(s) != 16 || strings.ToLower(s) != s {
		return 0, false
	}
	id, err := strconv.ParseUint(s, 16, 64)
	return id, err == nil && id != 0
}

// Entry is a token's entry in a list, as Allocate hands it out.
type Entry struct {
	// Ref is the entry as the Revoker stores it: pass it as Token.Status
	// to Issue.
	Ref revoke.StatusRef
	// URI is the list's URI.
	URI string
}

// Claim returns the value of the token's status claim:
// {"status_list": {"idx": ..., "uri": ...}}.
func (e Entry) Claim() StatusClaim {
	return StatusClaim{StatusList: StatusListRef{Idx: e.Ref.Index, URI: e.URI}}
}

// StatusClaim is the status claim of a token (the draft's section 6.1),
// which encoding/json marshals as the draft has it.
type StatusClaim struct {
	StatusList StatusListRef `json:"status_list"`
}

// StatusListRef is the status_list member of a status claim: the index of
// the token's entry and the URI of its list.
type StatusListRef struct {
	Idx uint32 `json:"idx"`
	URI string `json:"uri"`
}

// Allocate hands out an entry for a token about to be minted: put
// Entry.Claim() in the token as its status claim, and pass Entry.Ref as
// Token.Status to Issue, which stores it with the token's record. Once the
// token is revoked (directly, by cascade, reuse, RevokeSubject or
// RevokeClient, on any replica), its entry reads 1 in the served list.
//
// Allocation is in memory: indices are handed out densely within the
// current list (in random order with WithRandomIndices), and a full list
// is followed by a new one with a random number. A list is never reused,
// so neither is an entry; an entry allocated for a token that is never
// issued stays 0. It fails only once the Issuer is closed (ErrClosed).
func (is *Issuer) Allocate() (Entry, error) {
	ref, err := is.alloc.next()
	if err != nil {
		return Entry{}, err
	}
	return Entry{Ref: ref, URI: is.URI(ref.List)}, nil
}

// allocator hands out the entries of the current list.
type allocator struct {
	size   uint32
	random bool

	mu     sync.Mutex
	list   uint64
	used   uint32 // entries of list handed out
	perm   *permutation
	closed bool
}

// next returns the next entry, starting a list when the current one is
// full.
func (a *allocator) next() (revoke.StatusRef, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return revoke.StatusRef{}, fmt.Errorf("statuslist: Allocate: %w", ErrClosed)
	}
	if a.list == 0 || a.used == a.size {
		a.list, a.used, a.perm = newListID(), 0, nil
		if a.random {
			a.perm = newPermutation(a.size)
		}
	}
	idx := a.used
	if a.perm != nil {
		idx = a.perm.at(idx)
	}
	a.used++
	return revoke.StatusRef{List: a.list, Index: idx}, nil
}

func (a *allocator) close() {
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
}

// newListID draws a random non-zero list number.
func newListID() uint64 {
	for {
		var b [8]byte
		_, _ = rand.Read(b[:]) // never fails (crypto/rand)
		if id := binary.BigEndian.Uint64(b[:]); id != 0 {
			return id
		}
	}
}
