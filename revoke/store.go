package revoke

import (
	"context"
	"strconv"
	"time"
)

// Store is the storage a Revoker runs on. A Store holds records and runs
// transactions; it knows nothing of cascades, rotation or validation, which
// live once, in this package. The memory, bolt, sqlite and postgres packages
// provide Stores; package store/storetest checks any Store, ours or a
// user's, against this contract with one call.
//
// A backend implements Store and Tx and nothing else: what a store can do
// beyond them it declares in Capabilities. Every Tx method is shaped for a
// batch (many records, one call), so that a store that pays a round trip
// per statement serves a transaction of many writes in a few: memory and
// bolt implement them as plain loops.
//
// # Records and grants
//
// A record is one issued token (see Record). Its Grant is the ID of the
// token that started its grant: its own ID for a token without a parent,
// its parent's Grant otherwise. The Revoker keeps these invariants, and
// imports must keep them too (revokectl checks them):
//
//   - A record never moves to another grant: a Put of an ID the store
//     holds, as the transaction sees it, carries the same Grant, ClientID
//     and Subject as the stored record. (A record deleted may be Put again
//     under another grant, in the same transaction too.)
//   - Every record of a grant has the grant's ClientID and Subject.
//
// So the owner indexes (see GrantsOf) need one entry per grant: the entry
// of a grant exists while the store holds at least one record of it, and is
// added by the first Put of any record of the grant.
//
// # Transactions
//
//   - Update runs fn in a read-write transaction and commits it when fn
//     returns nil. When fn returns an error, or the commit fails, nothing fn
//     wrote is kept and Update returns a non-nil error (fn's error, possibly
//     wrapped, when fn failed). Update transactions are serializable: their
//     effects are as if they ran one at a time, even across processes
//     sharing the store. When Update returns nil the transaction is durable
//     to the degree the backend documents (the durable backends: on stable
//     storage).
//   - View runs fn in a read-only transaction that sees a consistent
//     snapshot and never waits for, nor observes, an uncommitted Update.
//     Every read of one View sees the same commits, however many Updates
//     commit while it runs: on a database server, REPEATABLE READ or
//     SERIALIZABLE, not READ COMMITTED.
//   - A Tx is valid only inside the fn it was passed to, and is used by one
//     goroutine at a time. Values it returns are owned by the caller and
//     stay valid after the transaction ends. Every read of a transaction
//     sees its own earlier writes.
//   - Absent is not an error: Get leaves out the IDs the store does not
//     hold, Delete of a missing ID does nothing.
//   - After Close, View and Update return an error wrapping ErrClosed and
//     write nothing. Close of a closed Store returns an error wrapping
//     ErrClosed.
//   - A cancelled or expired context makes View and Update return an error
//     wrapping the context's error, with nothing written: a context that
//     ends while Update waits (for a lock, a connection, the server) or
//     while fn runs, up to the sending of the commit, too. A commit once
//     sent runs to its end whatever the context says.
//   - A Revoker runs the writes of a transaction that failed again, in new
//     transactions, to find the one that failed it: a failed Update must
//     have kept nothing. An Update that cannot know whether its commit took
//     effect (the connection was lost after the commit was sent, say)
//     returns an error wrapping ErrUnavailable, which the Revoker does not
//     run again.
//   - An error of a store that cannot serve now but may later wraps
//     ErrUnavailable: the server is unreachable, the connection was lost, a
//     lock or statement timed out, the transaction was rolled back by a
//     serialization failure or a deadlock, the server refuses writes (a
//     standby). The Revoker fails the writes of the transaction with it and
//     the HTTP handler answers 503. Any other error of fn's reads and
//     writes is taken as a failure of the records of one operation, which
//     the Revoker fails alone.
//   - Data that is damaged or not the store's own is reported with an error
//     wrapping ErrCorrupt; data of a newer format, ErrVersion; a write to a
//     store opened read-only, ErrReadOnly; a bad option of the backend's
//     constructor, ErrInvalidOption.
//   - Every field of a Record reads back as it was Put (times to the
//     nanosecond, in UTC; ClientID and Subject byte for byte). ClientID and
//     Subject are compared byte for byte too (GrantsOf): a database column
//     or index over them must use a binary collation, one that does not
//     ignore case or accents, pad trailing spaces or normalize Unicode:
//     "alice", "Alice" and "alice " are three subjects, and so are
//     "jos\u00e9" and "jose\u0301".
//
// # Stores that other processes write
//
// A store whose data other processes can write (a database server, a file
// several processes open) must also:
//
//   - declare Capabilities.Shared, or refuse to open a second Store over
//     data another one holds open;
//   - serialize its Update transactions across processes, not only within
//     one, in one of these ways: every write transaction of every process
//     takes one lock first (an advisory lock, SELECT ... FOR UPDATE of one
//     row, SQLite's BEGIN IMMEDIATE); or runs at SERIALIZABLE isolation,
//     failing on a conflict with an error that wraps ErrUnavailable; or
//     takes a lock per grant, so that the writes of different grants run
//     in parallel (the postgres backend): a Get of a write transaction
//     locks the grants of the records it returns, and returns them as
//     committed once the locks are held; RevokeGrants and Delete lock the
//     grants they change before they read them; and a Put of an ID that a
//     Get of the transaction found absent fails, rather than replace the
//     record, if another transaction has inserted it since. READ COMMITTED
//     or REPEATABLE READ without such locks lets two processes both rotate
//     one token, or an Issue under a grant escape a Revoke of it committed
//     meanwhile;
//   - make revocation sequence numbers visible in order: no reader may see
//     a record at Seq n+1 while one at Seq n is still to be committed. A
//     Revoker follows the store by reading RevokedSince from the highest
//     Seq it has seen, so a revocation that becomes visible below that mark
//     never reaches its index. Handing out NextSeq under the lock that
//     serializes writes, held until the commit, gives this order; so does
//     claiming the numbers drawn at the commit, which fails if another
//     transaction claimed numbers since; a database sequence drawn outside
//     any lock does not.
//
// A store may run fn again, in a new transaction, when the server rolled
// the last one back for a conflict with another (a deadlock, numbers
// claimed first): the Revoker's fn starts from what the store holds each
// time.
//
// Package store/storetest checks these rules, the last three through two
// Stores over the same data, which its WithReopen option opens.
type Store interface {
	// Capabilities declares what the store does beyond the contract. It
	// declares the same capabilities every time it is called.
	Capabilities() Capabilities
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction and commits it if fn
	// returns nil.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the store. It does not wait for View and Update calls
	// that have not started; those return ErrClosed.
	Close() error
}

// Capabilities is what a Store declares it does beyond the contract. The
// zero value declares nothing: a store that serves one process, has no
// clock of its own and announces nothing.
type Capabilities struct {
	// Shared declares that processes other than this one may write the
	// store (the sqlite backend: several processes on one database file;
	// the postgres backend: replicas on any hosts). A Revoker over a
	// Shared store follows its revocation sequence so that revocations
	// committed elsewhere reach its index within the sync interval (see
	// FollowPolicy.Interval); over a store that is not Shared it never reads the
	// store's revocations after New. A Shared store must serialize writes
	// across processes and make sequence numbers visible in order (see
	// Store).
	Shared bool

	// Notify, when not nil, returns a channel that receives soon after any
	// process commits a revocation, and after the store re-established its
	// feed (when notifications may have been lost): the postgres backend's
	// LISTEN/NOTIFY. Sends never block and coalesce: one receive may stand
	// for many commits. The channel is closed when ctx is done or the store
	// closes. A Revoker catches up as soon as a signal arrives, rather than
	// at its next poll; the poll stays as the fallback for lost signals.
	Notify func(ctx context.Context) (<-chan struct{}, error)

	// Overlap is how many Update transactions of one process the store
	// runs to advantage at once: a store on a server far away (the
	// postgres backend) commits more when transactions overlap, each
	// paying its round trips while the others pay theirs. A Revoker then
	// runs up to Overlap group commits at once (at most MaxOverlap), each
	// of the writes queued when it starts. Their operations overlap only
	// as concurrent callers' do, which have no order among them; a
	// caller's next write starts once its last has committed. The store
	// orders what conflicts (see "Stores that other processes write").
	// 0 or 1: one transaction at a time.
	Overlap int

	// Clock, when not nil, returns the current time of a server that keeps
	// a clock of its own (the postgres backend: the database server's). A
	// Revoker on the default clock (no WithClock) purges by the earlier of
	// its own clock and the store's, so that a replica whose clock runs
	// fast cannot purge records the others still hold unexpired. See
	// "Clocks" in the package documentation.
	Clock func(ctx context.Context) (time.Time, error)
}

// MaxOverlap is the most transactions a Revoker runs at once, whatever
// Capabilities.Overlap declares.
const MaxOverlap = 64

// overlapOf returns how many transactions a Revoker over s runs at once.
func overlapOf(s Store) int {
	return min(max(s.Capabilities().Overlap, 1), MaxOverlap)
}

// Tx is a transaction of a Store. Its methods take the transaction's context
// for the calls that may block on I/O; the context given to View or Update
// governs the transaction as a whole. The write methods (Put, Delete,
// RevokeGrants, NextSeq) are only called in Update transactions.
type Tx interface {
	// Get returns the records the store holds of ids, in no particular
	// order, each once. IDs it does not hold are left out; ids may hold
	// duplicates; an empty ids returns none.
	Get(ctx context.Context, ids []ID) ([]Record, error)

	// Put inserts each record of recs, or replaces the record with the
	// same ID, and keeps every index over it (grant, expiry, revocation
	// sequence, owners) in the same transaction. The IDs of recs are
	// distinct. A record replaced keeps its Grant, ClientID and Subject
	// (see "Records and grants"); the Revoker never breaks that, and a
	// store need not check it.
	Put(ctx context.Context, recs []Record) error

	// Delete removes the records of ids, with their index entries. IDs the
	// store does not hold are skipped; ids may hold duplicates.
	Delete(ctx context.Context, ids []ID) error

	// RevokeGrants sets Seq to seq on every record of the grants named by
	// grants whose Seq is zero, whatever its expiry, with the effect of a
	// Put of each, and returns their index entries (Seq set to seq), in no
	// particular order. Records already revoked keep their Seq. grants may
	// hold duplicates and IDs of no grant. seq is a number NextSeq returned
	// in this transaction, so the store need not raise its sequence for it;
	// the Revoker passes each number once. It is how a cascade revokes a
	// grant of a thousand tokens in one statement.
	RevokeGrants(ctx context.Context, seq uint64, grants []ID) ([]Revocation, error)

	// GrantsOf returns the IDs of the grants whose records have Subject
	// (by == BySubject) or ClientID (by == ByClient) equal to key, byte for
	// byte, greater than after (compared as bytes.Compare does; the zero ID
	// starts at the beginning), in ascending order, at most limit of them
	// (none for limit <= 0). A caller that got limit IDs resumes with after
	// set to the last one. A grant is reported while the store holds a
	// record of it, whether live, revoked, spent or expired. An empty key
	// reports nothing for BySubject (the Revoker never asks for an empty
	// client); other values of by are an error. The
	// cost is proportional to the grants reported (plus a logarithmic
	// seek), not to the records of the store.
	GrantsOf(ctx context.Context, by Owner, key string, after ID, limit int) ([]ID, error)

	// NextSeq returns a revocation sequence number greater than every Seq
	// of a committed record, including those committed by other processes
	// and those Put with a Seq given rather than drawn (an import), greater
	// than every Seq Put earlier in this transaction, and greater than the
	// numbers it returned before in this transaction.
	// Numbers of a transaction that rolled back may be handed out again.
	NextSeq(ctx context.Context) (uint64, error)

	// RevokedSince calls fn with the index entry of every revoked record
	// whose Seq is greater than seq, in ascending Seq order. It is how a
	// Revoker loads its index at start-up (seq 0), streaming millions of
	// entries, and follows revocations written by other processes. fn only
	// collects: it must not call the transaction, since a store may call it
	// while it reads the rows of its statement. An error from fn stops the
	// iteration and is returned.
	RevokedSince(ctx context.Context, seq uint64, fn func(Revocation) error) error

	// Expired returns the IDs of at most limit records whose ExpiresAt is
	// before t, strictly (a record expiring at t is not reported), each
	// once, in no particular order; none for limit <= 0.
	Expired(ctx context.Context, t time.Time, limit int) ([]ID, error)

	// Scan returns at most limit records whose ID is greater than after, in
	// ascending ID order (bytewise), so that a caller reads a whole store in
	// bounded transactions: the zero ID first, then the ID of the last
	// record returned. None for limit <= 0. See ScanAll.
	Scan(ctx context.Context, after ID, limit int) ([]Record, error)
}

// Owner says which field of a record Tx.GrantsOf matches.
type Owner uint8

// The owner indexes a Store keeps.
const (
	// BySubject matches Record.Subject.
	BySubject Owner = 1
	// ByClient matches Record.ClientID.
	ByClient Owner = 2
)

// String returns "subject", "client", or "Owner(n)".
func (o Owner) String() string {
	switch o {
	case BySubject:
		return "subject"
	case ByClient:
		return "client"
	}
	return "Owner(" + strconv.Itoa(int(o)) + ")"
}
