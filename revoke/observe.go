package revoke

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"sync/atomic"
	"time"
)

// EventKind says what an Event reports.
type EventKind uint8

// The kinds of Event.
const (
	// EventIssued: Issue stored a token (Count 1). A retried Issue that
	// changes nothing reports nothing.
	EventIssued EventKind = iota + 1
	// EventRotated: Rotate replaced a refresh token (Count 1 for a grace
	// retry, 0 otherwise).
	EventRotated
	// EventRevoked: Revoke, RevokeSubject or RevokeClient revoked Count
	// tokens, for Reason.
	EventRevoked
	// EventReuse: a spent refresh token was presented again (to Rotate or
	// as an Issue parent) and its grant was revoked: Count tokens, Reason
	// ReasonReuse.
	EventReuse
	// EventPurged: Purge deleted Count expired records.
	EventPurged
	// EventSynced: the follower loaded Count revocations committed by other
	// processes, up to sequence Seq.
	EventSynced
	// EventStoreError: the store failed the operation Op with Err. Nothing
	// of that operation's transaction was written. An operation whose
	// caller's context ended returns that context's error, and no event.
	EventStoreError
)

var eventKinds = [...]string{"", "issued", "rotated", "revoked", "reuse", "purged", "synced", "store_error"}

// String returns the kind's name ("issued", "revoked", ...), or
// "EventKind(n)".
func (k EventKind) String() string {
	if int(k) < len(eventKinds) && k != 0 {
		return eventKinds[k]
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Reason says why tokens were revoked.
type Reason uint8

// The reasons of a revocation.
const (
	// ReasonDirect: Revoke of an access token, which revokes it alone.
	ReasonDirect Reason = iota + 1
	// ReasonCascade: Revoke of a refresh token, which revokes its grant.
	ReasonCascade
	// ReasonReuse: a spent refresh token was presented again.
	ReasonReuse
	// ReasonSubject: RevokeSubject.
	ReasonSubject
	// ReasonClient: RevokeClient.
	ReasonClient
	numReasons = iota + 1
)

var reasons = [...]string{"", "direct", "cascade", "reuse", "subject", "client"}

// Reasons lists every Reason, for exporting counters by reason.
var Reasons = []Reason{ReasonDirect, ReasonCascade, ReasonReuse, ReasonSubject, ReasonClient}

// String returns the reason's name ("direct", "cascade", "reuse",
// "subject", "client"), or "Reason(n)".
func (r Reason) String() string {
	if int(r) < len(reasons) && r != 0 {
		return reasons[r]
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// Event is what an observer (WithObserver) receives, one per operation,
// after its transaction has committed or failed. It never holds a raw token
// nor a token's storage ID: grants are named by a short hash of their ID.
type Event struct {
	Kind EventKind
	// Op is the method that did it: "Issue", "Rotate", "Revoke",
	// "RevokeSubject", "RevokeClient", "Purge" or "sync" (the follower).
	Op string
	// Reason is set for EventRevoked and EventReuse.
	Reason Reason
	// ClientID and Subject are the token's or grant's, where the
	// operation concerns one (for RevokeClient the client, for
	// RevokeSubject the subject).
	ClientID string
	Subject  string
	// Grant is a short reference to the grant concerned: 12 hexadecimal
	// digits of a SHA-256 of its ID, enough to follow one grant through a
	// log, useless to present or to look a record up.
	Grant string
	// Count is how many tokens the operation issued, revoked, purged or
	// loaded (see the kinds).
	Count int
	// Seq is the revocation sequence the follower reached (EventSynced).
	Seq uint64
	// Err is the store's error (EventStoreError).
	Err error
}

// GrantRef returns the short reference of a grant that Events carry.
func GrantRef(grant ID) string {
	h := sha256.Sum256(append([]byte("revoke grant ref:"), grant[:]...))
	return hex.EncodeToString(h[:6])
}

// Stats is a snapshot of a Revoker's counters (see Revoker.Stats).
type Stats struct {
	// ChecksRevoked and ChecksLive count the IsRevoked calls that answered
	// true and false. They are counted only while an observer is set
	// (WithObserver), so that IsRevoked pays nothing without one.
	ChecksRevoked, ChecksLive uint64
	// Revoked counts the tokens this Revoker revoked, by reason.
	Revoked map[Reason]uint64
	// ReuseDetected counts refresh token reuses detected.
	ReuseDetected uint64
	// IndexEntries is how many revoked tokens the in-memory index holds.
	IndexEntries int
	// SyncedSeq is the highest revocation sequence the index has loaded
	// from the store (at New, and by the follower).
	SyncedSeq uint64
	// SyncedAt is when the index last loaded the store's revocations: at
	// New, then at each run of the follower.
	SyncedAt time.Time
	// Lag is Revoker.Lag: how far behind the store the index may be, for a
	// Revoker whose follower runs (a Shared store); zero otherwise, since
	// every revocation then goes through this Revoker and reaches its index
	// at once.
	Lag time.Duration
	// Commits is how many write transactions the group committer ran, and
	// AvgBatch the average number of operations each carried.
	Commits  uint64
	AvgBatch float64
}

// lifecycle is the Revoker's observation state.
type lifecycle struct {
	counting bool // an observer is set: count checks
	revoked  [numReasons]atomic.Uint64
	reuse    atomic.Uint64
	syncedAt atomic.Int64 // Unix nanoseconds, by the Revoker's clock
	checks   checkCounters
}

// checkCounters counts IsRevoked results in padded per-shard atomic
// counters, so that cores checking different tokens do not share a cache
// line. (BENCHMARKS.md measures what counting adds to a check.)
type checkCounters [counterShards]struct {
	revoked, live atomic.Uint64
	_             [64 - 16]byte
}

// counted counts one IsRevoked result when counting is on.
func (r *Revoker) counted(k fkey, revoked bool) {
	if r.life.counting {
		r.life.checks.add(k, revoked)
	}
}

// counterShards is how many counters checkCounters spreads results over.
const counterShards = 64

// add counts one result.
func (c *checkCounters) add(k fkey, revoked bool) {
	s := &c[k.head%counterShards]
	if revoked {
		s.revoked.Add(1)
	} else {
		s.live.Add(1)
	}
}

// sum adds the counters up.
func (c *checkCounters) sum() (revoked, live uint64) {
	for i := range c {
		revoked += c[i].revoked.Load()
		live += c[i].live.Load()
	}
	return revoked, live
}

// Stats returns a snapshot of the Revoker's counters. It takes no lock that
// IsRevoked or a write waits on.
func (r *Revoker) Stats() Stats {
	s := Stats{
		Revoked:       make(map[Reason]uint64, len(Reasons)),
		ReuseDetected: r.life.reuse.Load(),
		IndexEntries:  int(r.index.count.Load()),
		SyncedSeq:     r.seq.Load(),
		Commits:       r.commit.commits.Load(),
	}
	s.ChecksRevoked, s.ChecksLive = r.life.checks.sum()
	for _, reason := range Reasons {
		s.Revoked[reason] = r.life.revoked[reason].Load()
	}
	if ns := r.life.syncedAt.Load(); ns != 0 {
		s.SyncedAt = time.Unix(0, ns).UTC()
	}
	s.Lag = r.Lag()
	if s.Commits > 0 {
		s.AvgBatch = float64(r.commit.ops.Load()) / float64(s.Commits)
	}
	return s
}

// observe counts ev and hands it to the observer, if any.
func (r *Revoker) observe(ev Event) {
	switch ev.Kind {
	case EventRevoked, EventReuse:
		if ev.Reason > 0 && ev.Reason < numReasons {
			r.life.revoked[ev.Reason].Add(uint64(ev.Count))
		}
		if ev.Kind == EventReuse {
			r.life.reuse.Add(1)
		}
	}
	if fn := r.opts.life.observer; fn != nil {
		fn(ev)
	}
}

// observeRecord reports an event about the token rec.
func (r *Revoker) observeRecord(kind EventKind, op string, rec Record, n int) {
	if r.opts.life.observer == nil {
		return
	}
	r.observe(Event{Kind: kind, Op: op, ClientID: rec.ClientID, Subject: rec.Subject, Grant: GrantRef(rec.Grant), Count: n})
}

// revokedEvent reports n tokens of rec's grant (or rec alone) revoked.
func (r *Revoker) revokedEvent(kind EventKind, op string, reason Reason, rec Record, n int) {
	ev := Event{Kind: kind, Op: op, Reason: reason, ClientID: rec.ClientID, Subject: rec.Subject, Count: n}
	if r.opts.life.observer != nil {
		ev.Grant = GrantRef(rec.Grant)
	}
	r.observe(ev)
}

// reused reports a detected reuse of p, whose grant lost n tokens.
func (r *Revoker) reused(op string, p Record, n int) {
	r.revokedEvent(EventReuse, op, ReasonReuse, p, n)
}

// storeError reports a failed transaction of op, unless err is the end of
// ctx, the caller's: a caller that gave up is no failure of the store.
func (r *Revoker) storeError(ctx context.Context, op string, err error) {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return
	}
	r.observe(Event{Kind: EventStoreError, Op: op, Err: err})
}
