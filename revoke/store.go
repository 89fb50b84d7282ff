package revoke

import (
	"context"
	"strconv"
	"time"
)

// Store is the storage a Revoker runs on. A Store holds records and runs
// transactions; it knows nothing of grants, clients or cascades, which live
// once, in this package. The memory, bolt and sqlite packages provide Stores;
// package store/storetest checks any Store, ours or a user's, against the
// rules with one call.
//
// The contract:
//
//   - Update runs fn in a read-write transaction and commits it when fn
//     returns nil. When fn returns an error, or the commit fails, nothing fn
//     wrote is kept and Update returns a non-nil error (fn's error, possibly
//     wrapped, when fn failed). Update transactions
//     are serializable: their effects are as if they ran one at a time, even
//     across processes sharing the store. When Update returns nil the
//     transaction is durable to the degree the backend documents (the
//     durable backends: on stable storage).
//   - View runs fn in a read-only transaction that sees a consistent snapshot
//     and never blocks on, nor observes, an uncommitted Update. Every read
//     of one View sees the same commits, however many Updates commit while
//     it runs: on a database server, REPEATABLE READ or SERIALIZABLE, not
//     READ COMMITTED.
//   - A Tx is valid only inside the fn it was passed to. Values it returns
//     are owned by the caller and stay valid after the transaction ends.
//   - The fn given to Grant, Grants, RevokedSince, Expired and Scan must not
//     call any method of the same Tx: a store may call it while it reads
//     the rows of its statement, and on one database connection no other
//     statement runs until they are read. Such an fn only collects what it
//     is given; the Revoker calls the Tx again after the iteration returns.
//   - Absent is not an error: Tx.Get of a missing ID reports found=false with
//     a nil error, and Tx.Delete of a missing ID does nothing.
//   - After Close, View and Update return an error wrapping ErrClosed and
//     write nothing. Close of a closed Store returns an error wrapping ErrClosed.
//   - A cancelled or expired context makes View and Update return an error
//     wrapping the context's error, with nothing written: a context that
//     ends while Update waits (for a lock, a connection, the server) or
//     while fn runs, up to the sending of the commit, too. A commit once
//     sent runs to its end whatever the context says.
//   - A Revoker runs the writes of a transaction that failed again, in
//     new transactions, to find the one that failed it (see Update): a
//     failed Update must have kept nothing. An Update that cannot know
//     whether its commit took effect (the connection was lost after the
//     commit was sent, say) returns an error wrapping ErrUnavailable,
//     which the Revoker does not run again.
//   - An error of a store that cannot serve now but may later wraps
//     ErrUnavailable: the server is unreachable, the connection was lost, a
//     lock or statement timed out, the transaction was rolled back by a
//     serialization failure or a deadlock, the server refuses writes (a
//     standby). A retry may succeed: the Revoker fails the writes of the
//     transaction with it and the HTTP handler answers 503. Any other error
//     of fn's reads and writes is taken as a failure of the records of one
//     operation, which the Revoker fails alone.
//   - Every field of a Record, rotation state included, reads back as it
//     was Put (times to the nanosecond, in UTC; ClientID and Subject byte
//     for byte). ClientID and Subject are compared byte for byte too
//     (Grants): a database column or index over them must use a binary
//     collation, one that does not ignore case or accents, pad trailing
//     spaces or normalize Unicode: "alice", "Alice" and "alice " are three
//     subjects, and so are "jos\u00e9" and "jose\u0301" (é composed and
//     decomposed).
//
// A store whose data other processes can write (a database server, a file
// several processes open) must also:
//
//   - report Shared() == true (see Shared), or refuse to open a second
//     Store over data another one holds open;
//   - serialize its Update transactions across processes, not only within
//     one: every write transaction of every process takes one lock first
//     (an advisory lock, SELECT ... FOR UPDATE of one row, SQLite's BEGIN
//     IMMEDIATE) or runs at SERIALIZABLE isolation, failing on a conflict
//     with an error that wraps ErrUnavailable. READ COMMITTED or REPEATABLE
//     READ without such a lock lets two processes both rotate one token, or
//     an Issue under a grant escape a Revoke of it committed meanwhile;
//   - make revocation sequence numbers visible in order: no reader may see
//     a record at Seq n+1 while one at Seq n is still to be committed.
//     A Revoker follows the store by reading RevokedSince from the highest
//     Seq it has seen, so a revocation that becomes visible below that mark
//     never reaches its index. Handing out NextSeq under the lock that
//     serializes writes, held until the commit, gives this order; a
//     database sequence drawn outside the lock does not.
//
// Package store/storetest checks these rules, the last three through two
// Stores over the same data, which its WithReopen option opens.
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction and commits it if fn
	// returns nil.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the store. It does not wait for View and Update calls
	// that have not started; those return ErrClosed.
	Close() error
}

// Tx is a transaction of a Store. Its methods take the transaction's context
// for the calls that may block on I/O; the context given to View or Update
// governs the transaction as a whole.
type Tx interface {
	// Get returns the record whose ID is id. A missing record is reported
	// as found == false with a nil error.
	Get(ctx context.Context, id ID) (rec Record, found bool, err error)

	// Put inserts rec, or replaces the record with the same ID, and keeps
	// every index over it (grant, expiry, revocation sequence, subject and
	// client, see Grants) in the same transaction. Put is only called in Update transactions.
	Put(ctx context.Context, rec Record) error

	// Delete removes the record whose ID is id, with its index entries.
	// Deleting a missing record does nothing. Delete is only called in
	// Update transactions.
	Delete(ctx context.Context, id ID) error

	// Grant calls fn for every record whose Grant is grant, in no particular
	// order. fn must not call the transaction (see Store); an error from
	// fn stops the iteration and is returned.
	Grant(ctx context.Context, grant ID, fn func(Record) error) error

	// RevokedSince calls fn for every revoked record whose Seq is greater
	// than seq, in ascending Seq order. It is how a Revoker loads its index
	// at start-up (seq 0) and follows revocations written by other
	// processes; a Shared store must make Seqs visible in order (see
	// Store). fn must not call the transaction; an error from fn stops the
	// iteration and is returned.
	RevokedSince(ctx context.Context, seq uint64, fn func(Revocation) error) error

	// Expired calls fn for at most limit records whose ExpiresAt is before
	// t, strictly: a record expiring at t is not reported. It reports them
	// in no particular order, and none for a limit <= 0. fn must not call
	// the transaction; an error from fn stops the iteration and is
	// returned.
	Expired(ctx context.Context, t time.Time, limit int, fn func(Record) error) error

	// Grants calls fn with the IDs of the grants that by and key name: the
	// distinct Grant of every stored record whose Subject (BySubject) or
	// ClientID (ByClient) equals key, byte for byte. It is how RevokeSubject
	// and RevokeClient find a user's or a client's grants without a scan of
	// the store, in bounded, resumable batches:
	//
	//   - Only grant IDs greater than after (compared as bytes, as
	//     bytes.Compare does) are reported; the zero ID starts at the
	//     beginning.
	//   - They are reported in ascending order, each once, however many
	//     records of that grant match.
	//   - At most limit IDs are reported; limit <= 0 reports none. A
	//     caller that got limit IDs resumes with after set to the last one.
	//   - A grant is reported while at least one record of it matches,
	//     whether live, revoked, spent or expired: the index follows the
	//     records (Put and Delete keep it in the same transaction), and
	//     entries of deleted records are gone when Delete returns.
	//   - The transaction's own writes are seen: a record Put earlier in
	//     the same transaction is found, a deleted one is not.
	//   - An empty key reports nothing for BySubject (records without a
	//     subject are not indexed by subject); by values other than
	//     BySubject and ByClient are an error.
	//
	// The cost must be proportional to the grants reported (plus a
	// logarithmic seek), not to the records of the store. fn must not
	// call the transaction; an error from fn stops the iteration and is
	// returned.
	Grants(ctx context.Context, by Owner, key string, after ID, limit int, fn func(grant ID) error) error

	// NextSeq returns a revocation sequence number greater than every Seq
	// of a committed record, including those committed by other processes,
	// and greater than the numbers it returned before in this transaction.
	// Numbers of a transaction that rolled back may be handed out again. It
	// is only called in Update transactions. "Every Seq" includes Seqs that
	// Put wrote as given rather than from NextSeq, which is how records are
	// imported from another store (see Scan).
	NextSeq(ctx context.Context) (uint64, error)

	// Scan calls fn for at most limit records whose ID is greater than
	// after, in ascending ID order (bytewise), so that a caller reads a
	// whole store in bounded transactions: the zero ID first, then the ID
	// of the last record seen (after is exclusive). limit <= 0 calls fn for
	// none. fn must not call the transaction; an error from fn stops the
	// scan and is returned. See ScanAll.
	Scan(ctx context.Context, after ID, limit int, fn func(Record) error) error
}

// Owner says which field of a record Tx.Grants matches.
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

// Shared is implemented by Stores that processes other than this one may
// write to (the sqlite backend: several processes on one database file; the
// postgres backend: replicas on any hosts). A Revoker over a Store whose
// Shared method returns true follows the store's revocation sequence so
// that revocations committed elsewhere reach its in-memory index within the
// sync interval (see WithSyncInterval). A Revoker over a Store that is not
// Shared never reads the store's revocations after New: a store whose data
// another process can write must report true, and must then serialize
// writes across processes and make sequence numbers visible in order (see
// Store). A store that serves one process reports false (or does not
// implement Shared) and refuses a second Store over the same data.
type Shared interface {
	Shared() bool
}

// Prefetcher is implemented by the Tx of stores for which a read costs a
// round trip (the postgres backend), so that a transaction holding many
// writes (the group commit of concurrent Issues, Revokes and Rotates) reads
// the records they check in one round trip rather than one per Get. The
// Revoker calls Prefetch at the start of each write transaction it shares
// among callers, with the IDs its operations will Get; stores that read in
// process (memory, bolt, sqlite) gain nothing from it and need not
// implement it.
//
// The contract:
//
//   - Prefetch is a hint that the transaction will Get these IDs. It must
//     not change what any later call of the transaction returns: a Get
//     after Prefetch returns exactly what it would without it, found or
//     not, including the effect of the transaction's own Puts and Deletes,
//     made before the Prefetch or after it. Records other processes change
//     meanwhile need no care beyond what the store's transaction isolation
//     already gives every Get.
//   - ids may hold duplicates, IDs the store does not hold, and IDs the
//     transaction wrote; an empty ids does nothing.
//   - An error from Prefetch is a storage error of the transaction, as one
//     from Get would be: the caller fails the transaction with it.
type Prefetcher interface {
	Prefetch(ctx context.Context, ids []ID) error
}

// SeqSetter is implemented by the Tx of stores that can revoke many records
// in fewer statements than a Put each (the sqlite and postgres backends), so
// that the cascade of a grant of a thousand tokens costs a few statements
// rather than a thousand. A Revoker calls SetSeq, when the Tx has it, in
// place of a Put of each record for records it read in the same transaction
// and changes in nothing but Seq; stores whose Put is cheap (memory, bolt)
// gain nothing from it and need not implement it.
//
// The contract:
//
//   - SetSeq(ctx, seq, ids) has the effect of a Put, for each ID of ids
//     whose record the transaction holds, of that record with its Seq set to
//     seq and every other field as it is: every index follows, RevokedSince
//     reports the records at seq once seq > 0, and NextSeq stays above seq
//     as it does after such a Put. The transaction's own writes count: a
//     record Put earlier in it is changed, one it deleted is not there; a
//     later Put or Delete of a record replaces what SetSeq wrote.
//   - Every later read of the transaction sees the new Seq, as after a Put:
//     Get (of a record Prefetch read ahead, too), and the reads that make a
//     store send the writes it buffers (Grant, Expired, Scan and the
//     others), before and after they do.
//   - IDs of ids the transaction does not hold are left absent. ids may
//     hold duplicates; an empty ids does nothing.
//   - An error from SetSeq is a storage error of the transaction, as one
//     from Put would be: the caller fails the transaction with it. SetSeq
//     is only called in Update transactions.
type SeqSetter interface {
	SetSeq(ctx context.Context, seq uint64, ids []ID) error
}
