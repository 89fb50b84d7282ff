// Package postgres keeps the records of a revoke.Revoker in PostgreSQL
// tables, through github.com/jmoiron/sqlx and github.com/jackc/pgx/v5 (its
// database/sql driver for the pool, its own connection for the change
// feed).
//
// It is for authorization servers that run several replicas behind a load
// balancer: each replica opens a Store over the same tables and runs a
// Revoker of its own, answering IsRevoked from memory, and a token revoked
// through any replica is refused by every other within milliseconds.
//
//	store, err := postgres.Open(ctx, "postgres://auth@db:5432/auth")
//	if err != nil {
//		return err
//	}
//	revoker, err := revoke.New(store) // revoker.Close closes the store
//
// # Change feed
//
// Every write transaction that takes or writes a revocation sequence
// number sends a NOTIFY on a channel named after the schema and table
// prefix, delivered by PostgreSQL if and only if the transaction commits.
// The Store declares it as revoke.Capabilities.Notify: a Revoker keeps one
// connection per Store, outside the pool, LISTENing on that channel, and
// on each notification reads the revocations committed since the last
// sequence number it loaded. It also polls every sync interval
// (revoke.FollowPolicy.Interval), which bounds the delay when notifications are
// lost. When the feed's connection drops it reconnects with backoff (50ms
// doubling to 5s) and, once listening again, signals a catch-up.
// The Store's revoke.Capabilities.Clock is the server's clock.
//
// # Concurrency
//
// Write transactions run at READ COMMITTED and take no lock that every
// writer shares: issuing (every login and refresh) on one replica never
// waits for issuing on another. What must be ordered is ordered by locks
// as narrow as the rule they keep, so that transactions of every replica
// run in parallel and have the effect of running one at a time:
//
//   - A grant's lock. Every record belongs to a grant (revoke.Store), and
//     each grant has a transaction-level advisory lock, keyed by the schema,
//     the prefix and the grant. A Get of a write transaction first locks the
//     grants of the records asked for, then reads them, in a statement whose
//     snapshot is taken once the locks are held: it sees every transaction
//     on those grants committed before. RevokeGrants and Delete lock the
//     grants they change the same way before they read them. So the writes
//     to one grant (Issue under it, Rotate of its refresh token, Revoke,
//     RevokeSubject or RevokeClient of it, a purge) run one at a time, in
//     the order of their locks: an Issue or Rotate that raced a revocation
//     of its grant either committed first, and the revocation's UPDATE,
//     whose snapshot follows the Issue's commit, revokes its token; or runs
//     after, reads its parent revoked, and is refused. Of concurrent Rotates
//     of one token, the first to lock the grant wins; the others read the
//     token rotated, and revoke the grant as reuse.
//   - New records. A token issued with a new grant locks nothing; its ID,
//     read absent, is inserted and not upserted, so that of two
//     transactions issuing one token at once the second fails on the unique
//     index rather than replace the first's record, and its writes run
//     again and find the token issued.
//   - No wait while holding. A statement takes its grant locks in the order
//     of their keys; only a transaction's first statement that takes grant
//     locks waits for them, and a later one (a RevokeSubject after other
//     writes of the same group commit) only tries them. A transaction that
//     finds a lock taken rolls back and runs again, and with it the
//     Revoker's operations: so no two transactions ever wait for each other
//     and the server never has to break a deadlock.
//   - The revocation sequence. NextSeq reads the counter of the meta table
//     once per transaction and draws the numbers above it without a lock;
//     the commit claims them in the statement sent with COMMIT, moving the
//     counter from the value read to the last number drawn, and fails, to
//     run again, if another transaction moved it since. The counter's row
//     is locked from that statement to the end of the COMMIT in the same
//     round trip, so revocations commit in sequence order and a follower
//     that reads every revocation above the last number it saw skips none.
//     A record Put with a Seq of its own (an import) raises the counter to
//     it in the same statement, or, once the transaction has read the
//     counter, in the claim.
//
// A transaction that rolled back for a conflict with another (a lock
// taken, numbers claimed first, a token inserted first, a deadlock or
// serialization failure the server reports) runs again, after a short random pause, for as long as
// the lock timeout (WithLockTimeout) allows since its first run: each such
// conflict is with another transaction that holds what this one needs or
// has just committed, and a transaction that keeps losing fails, as a lock
// wait that long would, with an error wrapping revoke.ErrUnavailable.
//
// # Round trips
//
// A transaction sends its statements in pipelines (pgx batches) on one
// connection: BEGIN and its settings go with its first statement, a Get
// is one round trip of its two statements, and the records Put wait for
// the next statement or for the commit, which sends them with the claim
// of sequence numbers, the NOTIFY and COMMIT. So an Issue or a Rotate
// costs two round trips (TestWriteRoundTrips counts them); a Revoke of a
// grant costs four (reading the counter and revoking the grant's records
// are one more each).
//
// # Durability and faults
//
// Update returns nil only after COMMIT returned; Open and New refuse a
// server that would acknowledge commits before they reach disk (see
// WithSynchronousCommitOff). Errors of an unreachable server, a lost
// connection, a server shutting down, or a lock or statement timeout wrap
// revoke.ErrUnavailable; so does a connection lost during COMMIT, whose
// outcome is unknown. The context of Update bounds everything up to the
// commit; when it ends before COMMIT is sent, Update returns without
// waiting for the server and nothing is written. COMMIT, once sent, runs
// to its end within the statement timeout. The server ends the session of
// a replica that stops talking while it holds locks (see
// WithIdleInTransactionTimeout), which releases them.
//
// # Schema
//
// Three tables per prefix (WithTablePrefix), in the connection's current
// schema or the one WithSchema names: {prefix}tokens, one row per record;
// {prefix}owners, one row per grant and owner, for GrantsOf; and
// {prefix}meta, the schema version and the sequence counter. IDs are the
// SHA-256 digests of the raw tokens; raw tokens are never stored. Every
// statement runs on an index. Open and New create the tables in one
// transaction under the advisory lock. Tables at another schema version
// than SchemaVersion are refused with an error wrapping revoke.ErrVersion
// (versions 1 and 2 predate the first release).
//
// # Caveats
//
//   - Writes to one grant run one at a time across replicas, and
//     revocations claim the sequence in turn: a revocation that loses the
//     claim to another runs again. Issuing under different grants runs in
//     parallel; its throughput is the server's. Reads (IsRevoked) never
//     touch the database.
//   - Statements run with enable_seqscan and enable_bitmapscan off, set for
//     each transaction: every statement runs on an index, including those
//     pgx prepared while the tables were small.
//   - Behind a transaction-mode connection pooler (PgBouncer), LISTEN does
//     not work: give the feed a direct connection with WithListenDSN, or
//     rely on the poll.
//   - Purging (revoke.Revoker.Purge) deletes in batches, locking the grants
//     of what it deletes; run it from one replica (revoke.PurgePolicy.Every)
//     rather than all.
//   - Import into tables no Revoker follows yet: a record imported with a
//     Seq below numbers already handed out is not read by followers that
//     are past it, until they restart.
//   - Open and New create the tables of their prefix and schema: a
//     mistyped WithTablePrefix makes an empty Store beside the real one.
//     Tools that only read should open WithReadOnly.
package postgres
