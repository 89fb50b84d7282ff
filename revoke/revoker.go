package revoke

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Revoker records issued tokens, revokes them with the cascade rules, and
// answers IsRevoked from an in-memory index. It is safe for concurrent use.
type Revoker struct {
	store  Store
	caps   Capabilities // the store's, read once
	opts   options
	index  index
	commit committer

	// readThrough makes IsRevoked consult the store on an index miss: for
	// a Shared store whose follower is turned off.
	readThrough bool
	// seq is the highest revocation sequence the index has loaded.
	seq atomic.Uint64
	// shedAt is when the index last shed expired entries, in Unix
	// nanoseconds of the Revoker's clock (see shed).
	shedAt atomic.Int64
	// life holds the counters of Stats and observation.
	life lifecycle
	// follow is the follower's state over a Shared store (see feed.go).
	follow follower
	// changes logs what enters the index, for feeds (see changes.go).
	changes changeLog

	closed atomic.Bool
	bg     context.Context // background work's context, cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// minExpiry and maxExpiry are the earliest and latest expiry a Store can
// keep (nanoseconds since 1970 in an int64).
var (
	minExpiry = time.Unix(0, math.MinInt64)
	maxExpiry = time.Unix(0, math.MaxInt64)
)

// New returns a Revoker over s. It loads the revocations s holds into the
// in-memory index, streaming them in one read transaction. New starts no
// goroutine unless asked: PurgePolicy.Every starts the janitor, and a Shared store
// (with the default FollowPolicy.Interval) starts the follower that reads other
// processes' revocations. Close stops them and closes s. If New fails, s is
// left open.
//
// New validates every option (see the bounds beside them) and returns an
// error wrapping ErrInvalidOption for a nil Store, a nil Option or a value
// out of bounds. A Store runs one Revoker at a time: New over a Store that
// an open Revoker runs on returns an error wrapping ErrStoreInUse; share
// that Revoker instead (it is safe for concurrent use).
func New(s Store, opts ...Option) (*Revoker, error) {
	if s == nil {
		return nil, fmt.Errorf("revoke: New: nil Store: %w", ErrInvalidOption)
	}
	o := defaultOptions()
	for i, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("revoke: New: option %d is nil: %w", i, ErrInvalidOption)
		}
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("revoke: New: %w: %w", ErrInvalidOption, err)
	}
	if err := claim(s); err != nil {
		return nil, fmt.Errorf("revoke: New: %w", err)
	}
	r := &Revoker{store: s, caps: s.Capabilities(), opts: o, commit: committer{store: s, overlap: overlapOf(s)}, changes: changeLog{size: o.changeLog}}
	r.shedAt.Store(o.now().UnixNano())
	r.life.counting = o.life.observer != nil
	r.index.setBase(o.now())
	r.index.beginLoad()
	err := r.sync(context.Background())
	r.index.endLoad()
	if err != nil {
		release(s)
		return nil, fmt.Errorf("revoke: New: loading revocations: %w", err)
	}
	r.bg, r.cancel = context.WithCancel(context.Background())
	if r.caps.Shared {
		if o.syncInterval > 0 {
			r.startFollower()
		} else {
			r.readThrough = true
		}
	}
	if o.janitor > 0 {
		r.every(o.janitor, "purge", func(ctx context.Context) error {
			_, err := r.Purge(ctx)
			return err
		})
	}
	return r, nil
}

// every runs fn every interval in a goroutine until Close.
func (r *Revoker) every(interval time.Duration, name string, fn func(context.Context) error) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-r.bg.Done():
				return
			case <-t.C:
				if err := fn(r.bg); err != nil && r.bg.Err() == nil {
					r.opts.log.Error("revoke: background "+name+" failed", "err", err)
				}
			}
		}
	}()
}

// sync loads the revocations committed since the last sync into the index.
func (r *Revoker) sync(ctx context.Context) error {
	last := r.seq.Load()
	high := last
	n := 0
	// A revocation past the purge cutoff is Purge's to delete: adding it
	// could undo the sweep of a Purge that ran while this read was under
	// way. (One reading of the clock for the whole read: one per
	// revocation cost New a fifth of its time over millions.)
	cutoff := r.opts.now().Add(-r.opts.grace)
	err := r.store.View(ctx, func(tx Tx) error {
		return tx.RevokedSince(ctx, last, func(rev Revocation) error {
			n++
			if !rev.ExpiresAt.After(cutoff) {
				high = max(high, rev.Seq)
				return nil
			}
			r.syncAdd(rev)
			high = max(high, rev.Seq)
			return nil
		})
	})
	if err != nil {
		if r.bg != nil {
			r.storeError(ctx, "sync", err)
		}
		return err
	}
	r.life.syncedAt.Store(r.opts.now().UnixNano())
	if high > last && r.bg != nil {
		r.observe(Event{Kind: EventSynced, Op: "sync", Count: n, Seq: high})
	}
	// Only the follower (or New, before it starts) syncs, so a plain store
	// is enough; the max guards against a reader that went backwards.
	if high > r.seq.Load() {
		r.seq.Store(high)
	}
	return nil
}

// Issue records a token the authorization server hands out. A token with a
// Parent joins its parent's grant; the parent must be a live refresh token of
// the same client. Issue validates t first: bad input returns a *FieldError
// wrapping ErrInvalidToken. It returns ErrRevoked when the parent (or the
// token itself) was revoked, ErrUnknownParent when the parent was never
// issued, has expired or was purged, ErrClientMismatch when the parent
// belongs to another client, and ErrAlreadyIssued when the value was issued
// before with other attributes; in each case nothing is stored. Issuing the
// same token twice with the same attributes succeeds. A parent that was
// rotated (see Rotate) is reuse: the grant is revoked and Issue returns
// ErrReused. A token with a parent takes the parent's Subject when its own
// is empty; another Subject is a *FieldError.
//
// When Issue returns nil the record is committed; an Issue racing a Revoke of
// its grant either fails with ErrRevoked or is revoked by that Revoke.
func (r *Revoker) Issue(ctx context.Context, t Token) error {
	if r.closed.Load() {
		return ErrClosed
	}
	now := r.opts.now()
	if err := validate(t, now); err != nil {
		return err
	}
	rec, err := r.recordOf(t)
	if err != nil {
		return err
	}
	reads := append(make([]ID, 0, 2), rec.ID)
	if !rec.Parent.IsZero() {
		reads = append(reads, rec.Parent)
	}
	is := &issuing{rec: rec, subject: t.Subject, now: now}
	if err := r.commit.do(ctx, reads, is.run); err != nil {
		r.storeError(ctx, "Issue", err)
		return fmt.Errorf("revoke: Issue: %w", err)
	}
	r.indexed(is.revoked)
	switch {
	case errors.Is(is.outcome, ErrReused):
		r.reused("Issue", is.parent, len(is.revoked))
	case is.outcome == nil && is.wrote:
		r.observeRecord(EventIssued, "Issue", is.rec, 1)
	}
	return is.outcome
}

// issuing is the transaction of one Issue, which the committer may run more
// than once: run starts by resetting what it records.
type issuing struct {
	rec     Record
	subject string // the Subject Issue was given
	now     time.Time

	outcome error        // the refusal Issue returns, or nil
	parent  Record       // the spent parent, on reuse
	revoked []Revocation // what reuse revoked
	wrote   bool         // the record was Put
}

func (is *issuing) run(ctx context.Context, t *txn) error {
	is.outcome, is.revoked, is.wrote = nil, is.revoked[:0], false
	is.rec.Grant = is.rec.ID
	old, found, err := t.get(ctx, is.rec.ID)
	if err != nil {
		return err
	}
	if found && old.Revoked() {
		is.outcome = fmt.Errorf("%w: the token itself was revoked", ErrRevoked)
		return nil
	}
	if !is.rec.Parent.IsZero() {
		if decided, err := is.joinParent(ctx, t, found); decided || err != nil {
			return err
		}
	}
	if found {
		if !sameIssue(old, is.rec) {
			is.outcome = ErrAlreadyIssued
		}
		return nil
	}
	is.wrote = true
	t.put(is.rec)
	return nil
}

// joinParent puts the record in its parent's grant, and reports whether
// that decided the outcome: a parent that may not take it, or a spent
// parent presented for a new token, which is reuse and revokes the grant.
func (is *issuing) joinParent(ctx context.Context, t *txn, found bool) (bool, error) {
	p, ok, err := t.get(ctx, is.rec.Parent)
	if err != nil {
		return true, err
	}
	if is.outcome = checkParent(p, ok, is.rec.ClientID, is.now); is.outcome != nil {
		return true, nil
	}
	if is.outcome = inherit(&is.rec, is.subject, p); is.outcome != nil {
		return true, nil
	}
	is.rec.Grant = p.Grant
	if found || !p.Spent() {
		return false, nil
	}
	is.parent = p
	is.outcome = fmt.Errorf("%w: the parent was already rotated; its grant is revoked", ErrReused)
	is.revoked, err = t.revokeGrants(ctx, []ID{p.Grant}, is.revoked)
	return true, err
}

func validate(t Token, now time.Time) error {
	switch {
	case t.Value == "":
		return &FieldError{Field: "Value", Reason: "is empty"}
	case len(t.Value) > MaxTokenLength:
		return &FieldError{Field: "Value", Reason: tooLong(MaxTokenLength)}
	case len(t.Parent) > MaxTokenLength:
		return &FieldError{Field: "Parent", Reason: tooLong(MaxTokenLength)}
	case !t.Kind.Valid():
		return &FieldError{Field: "Kind", Reason: "is " + t.Kind.String() + ", want access or refresh"}
	case t.ExpiresAt.IsZero():
		return &FieldError{Field: "ExpiresAt", Reason: "is not set"}
	case !t.ExpiresAt.After(now):
		return &FieldError{Field: "ExpiresAt", Reason: "is not in the future"}
	case t.ExpiresAt.After(maxExpiry):
		return &FieldError{Field: "ExpiresAt", Reason: "is after " + maxExpiry.UTC().Format(time.RFC3339)}
	case t.Parent == t.Value:
		return &FieldError{Field: "Parent", Reason: "is the token itself"}
	case t.Status.List == 0 && t.Status.Index != 0:
		return &FieldError{Field: "Status", Reason: "has an index but no list"}
	}
	if err := checkClientID("ClientID", t.ClientID); err != nil {
		return err
	}
	return checkSubject("Subject", t.Subject)
}

// checkParent returns why a token of client may not be minted from parent p,
// or nil.
func checkParent(p Record, found bool, client string, now time.Time) error {
	switch {
	case !found:
		return fmt.Errorf("%w: parent was never issued or has been purged", ErrUnknownParent)
	case p.Kind != Refresh:
		return &FieldError{Field: "Parent", Reason: "is not a refresh token"}
	case p.ClientID != client:
		return fmt.Errorf("%w: parent belongs to another client", ErrClientMismatch)
	case p.Revoked():
		return fmt.Errorf("%w: parent token was revoked", ErrRevoked)
	case !p.ExpiresAt.After(now):
		return fmt.Errorf("%w: parent token has expired", ErrUnknownParent)
	}
	return nil
}

func sameIssue(a, b Record) bool {
	return a.Kind == b.Kind && a.ClientID == b.ClientID && a.Subject == b.Subject &&
		a.Parent == b.Parent && a.Grant == b.Grant && a.ExpiresAt.Equal(b.ExpiresAt) && a.Status == b.Status
}

// Revoke revokes token on behalf of clientID and returns how many tokens it
// newly revoked. Revoking an access token revokes it alone. Revoking a
// refresh token revokes its whole grant, atomically: every refresh token of
// its rotation chain and every access token minted from any of them.
//
// A token never issued or already revoked returns (0, nil) and changes
// nothing, as RFC 7009 asks. A token this Revoker's clock holds expired is
// revoked all the same while its record is kept: another server's clock may
// still hold it valid (see "Clocks" in the package documentation). A token
// issued to another client
// returns ErrClientMismatch and changes nothing. Empty arguments return a
// *FieldError wrapping ErrInvalidToken. When Revoke returns, the revocation is
// committed and IsRevoked reports it.
func (r *Revoker) Revoke(ctx context.Context, token, clientID string) (int, error) {
	if r.closed.Load() {
		return 0, ErrClosed
	}
	if err := checkTokenClient("token", token, clientID); err != nil {
		return 0, err
	}
	id, _, ok := r.tokenID(token)
	if !ok {
		return 0, nil // never issued: Issue refuses such tokens
	}
	// A read first: a token whose revocation would change nothing (never
	// issued, another client's, or already revoked, which for a refresh
	// token means its whole grant is) costs no write transaction, so
	// requests with junk tokens cannot force commits.
	rec, found, err := r.get(ctx, id)
	switch {
	case err != nil:
		r.storeError(ctx, "Revoke", err)
		return 0, fmt.Errorf("revoke: Revoke: %w", err)
	case !found:
		return 0, nil
	case rec.ClientID != clientID:
		return 0, ErrClientMismatch
	case rec.Revoked():
		// Another process may have revoked it (a Shared store), before
		// the follower brings that to the index: IsRevoked reports it
		// from now on all the same.
		r.admit([]Revocation{rec.Revocation()})
		return 0, nil
	}
	var outcome error
	var revoked []Revocation
	err = r.commit.do(ctx, []ID{id}, func(ctx context.Context, t *txn) error {
		var err error
		outcome, revoked, err = revokeToken(ctx, t, id, clientID, revoked[:0])
		return err
	})
	if err != nil {
		r.storeError(ctx, "Revoke", err)
		return 0, fmt.Errorf("revoke: Revoke: %w", err)
	}
	if outcome != nil {
		return 0, outcome
	}
	r.indexed(revoked)
	if len(revoked) > 0 {
		reason := ReasonCascade
		if rec.Kind == Access {
			reason = ReasonDirect
		}
		r.revokedEvent(EventRevoked, "Revoke", reason, rec, len(revoked))
	}
	return len(revoked), nil
}

// revokeToken revokes the token id on behalf of client, appending the
// index entries of what it revoked to revs: the token alone for an access
// token, every record of its grant not revoked yet for a refresh token.
// Expiry plays no part (see Revoke). A token never issued, or already
// revoked, revokes nothing; another client's is refused with outcome
// ErrClientMismatch.
func revokeToken(ctx context.Context, t *txn, id ID, client string, revs []Revocation) (outcome error, _ []Revocation, _ error) {
	rec, found, err := t.get(ctx, id)
	switch {
	case err != nil || !found:
		return nil, revs, err
	case rec.ClientID != client:
		return ErrClientMismatch, revs, nil
	case rec.Kind == Refresh:
		revs, err = t.revokeGrants(ctx, []ID{rec.Grant}, revs)
		return nil, revs, err
	case rec.Revoked():
		return nil, revs, nil
	}
	revs, err = t.revokeRecord(ctx, rec, revs)
	return nil, revs, err
}

// IsRevoked reports whether token was revoked, directly or by the cascade of
// its grant. It is true until the token has expired and its record has been
// purged, and false for a token never issued. IsRevoked answers from memory
// without touching the store and without allocating, except over a Shared
// store whose follower was turned off (FollowPolicy.Interval 0), or a key
// function (WithTokenKey) that allocates. A token the key function refuses is
// reported revoked, with an error wrapping ErrInvalidToken. With FollowPolicy.MaxLag,
// a token the index does not hold as revoked gets an error wrapping ErrStale
// while the index lags the store by more than the bound.
func (r *Revoker) IsRevoked(ctx context.Context, token string) (bool, error) {
	if r.closed.Load() {
		return false, ErrClosed
	}
	if token == "" {
		return false, errEmptyToken
	}
	key := token
	if r.opts.tokenKey != nil { // the check alone on the path without a key function
		var ok bool
		if key, ok = r.tokenKey(token); !ok {
			return true, errUnkeyed
		}
	}
	id := TokenID(key)
	k := keyOf(&id)
	if r.index.containsKey(k) {
		r.counted(k, true)
		return true, nil
	}
	if r.readThrough {
		revoked, err := r.readRevoked(ctx, id)
		if err == nil {
			r.counted(k, revoked)
		}
		return revoked, err
	}
	if r.follow.stale.Load() {
		return false, errStale
	}
	r.counted(k, false)
	return false, nil
}

var errEmptyToken = &FieldError{Field: "token", Reason: "is empty"}

func (r *Revoker) readRevoked(ctx context.Context, id ID) (bool, error) {
	rec, found, err := r.get(ctx, id)
	if err != nil {
		return false, fmt.Errorf("revoke: IsRevoked: %w", err)
	}
	return found && rec.Revoked(), nil
}

// get reads the record of id in a read transaction of its own.
func (r *Revoker) get(ctx context.Context, id ID) (rec Record, found bool, err error) {
	err = r.store.View(ctx, func(tx Tx) error {
		recs, err := tx.Get(ctx, []ID{id})
		if err != nil {
			return err
		}
		for _, r := range recs {
			if r.ID == id {
				rec, found = r, true
			}
		}
		return nil
	})
	return rec, found, err
}

// Purge deletes the records of tokens that expired more than the purge
// grace ago (see PurgePolicy.Grace), in transactions of at most the purge batch
// (see PurgePolicy.Batch) so that it never holds the store for long, and
// returns how many it deleted. A revoked token stays revoked until its own
// record is purged, so purging never makes a live token of a revoked grant
// look live. On error, the batches already committed stay deleted.
func (r *Revoker) Purge(ctx context.Context) (int, error) {
	if r.closed.Load() {
		return 0, ErrClosed
	}
	now, err := r.purgeNow(ctx)
	if err != nil {
		r.storeError(ctx, "Purge", err)
		return 0, fmt.Errorf("revoke: Purge: reading the store's clock: %w", err)
	}
	cutoff := now.Add(-r.opts.grace)
	total := 0
	var ids []ID // grows with what a batch finds, never to the batch limit up front
	for {
		err := r.store.Update(ctx, func(tx Tx) error {
			var err error
			if ids, err = tx.Expired(ctx, cutoff, r.opts.batch); err != nil {
				return err
			}
			if len(ids) > r.opts.batch {
				return fmt.Errorf("%w: Expired returned %d records, over its limit %d", errStoreContract, len(ids), r.opts.batch)
			}
			return tx.Delete(ctx, ids)
		})
		if err != nil {
			r.storeError(ctx, "Purge", err)
			return total, fmt.Errorf("revoke: Purge: %w", err)
		}
		total += len(ids)
		if len(ids) < r.opts.batch {
			break
		}
	}
	r.index.sweep(cutoff)
	if total > 0 {
		r.observe(Event{Kind: EventPurged, Op: "Purge", Count: total})
	}
	return total, nil
}

// Close stops the Revoker's background work, waits for it, and closes the
// store. After Close every method returns an error wrapping ErrClosed,
// Close included.
func (r *Revoker) Close() error {
	if !r.closed.CompareAndSwap(false, true) {
		return ErrClosed
	}
	r.cancel()
	r.changes.close()
	r.wg.Wait()
	err := r.store.Close()
	release(r.store)
	if err != nil {
		return fmt.Errorf("revoke: Close: %w", err)
	}
	return nil
}
