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
// Open makes a connection pool of the Store's own. New uses the
// application's pool (a *sqlx.DB over pgx's stdlib driver) and leaves it
// open on Close.
//
// # Change feed
//
// Every write transaction that revokes something sends a NOTIFY on a
// channel named after the schema and table prefix, delivered by PostgreSQL
// if and only if the transaction commits. Store implements revoke.Notifier:
// a Revoker over it keeps one connection per Store, outside the pool,
// LISTENing on that channel, and on each notification reads the
// revocations committed since the last sequence number it loaded. It also
// polls every sync interval (revoke.WithSyncInterval, one second by
// default), which bounds the delay when notifications are lost. When the
// feed's connection drops it reconnects with backoff
// (WithReconnectBackoff) and, once listening again, signals a catch-up: what
// was committed meanwhile was not announced. Revoker.Lag tells how far
// behind a replica may be, and revoke.WithMaxLag makes IsRevoked fail
// closed past a bound.
//
// # Serializability and the sequence
//
// Update takes a transaction-level advisory lock, one per schema and table
// prefix, before anything else, in the same round trip as BEGIN: write
// transactions of every process run one at a time, are serializable, and
// cannot deadlock with each other. SERIALIZABLE isolation with a retry
// loop would let writers run concurrently, but every revocation writes the
// one sequence counter row, so revocations conflict and retry anyway, and
// every transaction pays for predicate locks; the group committer of
// package revoke already shares one transaction, and so one lock turn,
// among a process's concurrent writers. Measured against each other (see
// BENCHMARKS.md), the advisory lock issued 1.4-1.7 times as many tokens
// per second from 32 goroutines and revoked a 1,001-token grant in half
// the time. The transaction runs at
// READ COMMITTED, so that its reads, made after the lock is granted, see
// every transaction committed before: an Issue under a parent never misses
// a revocation of the parent's grant that committed first, and a
// revocation never misses a token issued into its grant.
//
// NextSeq increments a counter row of the meta table in the transaction
// (UPDATE ... RETURNING). With the advisory lock held to the commit, a
// transaction that got a later number commits later: commit order is
// sequence order, so a follower that reads "every revocation above the
// last number I saw" skips none. Numbers of a transaction that rolled back
// are handed out again. A record Put with a Seq of its own (an import, see
// revoke.Tx.Scan) raises the counter to it, under the same locks, and the
// transaction is announced on the change feed like a revocation.
//
// Writes are buffered in the transaction and sent in one statement each
// (an INSERT ... ON CONFLICT of all the records put, a DELETE of all those
// deleted) before a read that needs them and at the commit. A revocation
// is a new sequence number and nothing else: the Tx implements
// revoke.SeqSetter, and revoking a grant of a thousand tokens sends one
// UPDATE of their seq column over the grant's range of the primary key,
// not a thousand statements nor every column of every record. Reads
// are gathered the same way: the Tx implements revoke.Prefetcher, and the
// group committer of package revoke reads the records its Issues, Revokes
// and Rotates check (a token and its parent) in one SELECT ... WHERE id =
// ANY($1) per transaction, rather than a round trip per record. Get then
// answers from the transaction's own writes first, then from what was read
// ahead, then from the table.
//
// # Durability
//
// Update returns nil only after COMMIT returned. Open and New check the
// server's synchronous_commit for the role and database: with it off,
// PostgreSQL acknowledges commits before they reach disk, and a server crash
// could bring revoked tokens back, so they refuse it with ErrDurability
// unless WithSynchronousCommitOff accepts it explicitly.
//
// # Faults
//
// Errors of an unreachable server, a lost connection, a server shutting
// down, a lock not granted within the lock timeout (WithLockTimeout) or a
// statement over the statement timeout (WithStatementTimeout) wrap
// revoke.ErrUnavailable: the HTTP handler answers 503. A failed write is
// never acknowledged; when the connection is lost during COMMIT its outcome
// is unknown and Update reports an error wrapping revoke.ErrUnavailable,
// which a Revoker does not run again. IsRevoked keeps answering from
// memory; when the server is back, the pool opens new connections, the feed
// reconnects and every Revoker catches up, with no restart.
//
// The context of Update bounds everything up to the commit: the wait for a
// connection, BEGIN and the wait for the write lock (which the lock timeout
// bounds too), and every statement. When it ends before COMMIT is sent,
// Update returns its error without waiting for the server (a connection
// that may be in the middle of a statement is closed, which rolls its
// transaction back) and nothing is written. COMMIT, once sent, runs to its
// end whatever the context says, within the statement timeout: a Revoker's
// write returns at its caller's deadline unless its commit is under way
// (see package revoke, Caveats).
//
// A write transaction holds the write lock of every replica. If the
// replica running it stops talking to the server while it holds it (its
// process or virtual machine paused, its network path gone), the server
// ends the transaction's session once it has waited
// WithIdleInTransactionTimeout (2s by default) for its next statement,
// which releases the lock; that is a server-side timer, which needs
// nothing from the paused replica or the network.
//
// # Schema
//
// Two tables per prefix (WithTablePrefix, "revoke_" by default), in the
// connection's current schema or the one WithSchema names: {prefix}tokens,
// one row per record, rotation state included (successor, rotated_at,
// retries, superseded), and the Token Status List entry (status_list,
// status_idx, 0 and 0 for none), keyed by (grant_id, id) with a unique
// index on id (Get, Put, Delete, and Scan's ID order), an index on expiry,
// a partial covering index on the revocation sequence (RevokedSince, and
// so revoke.Revoker.Statuses, reads it alone), and indexes on (subject,
// grant_id), partial to rows with a subject, and (client_id, grant_id),
// from which Grants reads a subject's or a client's distinct grants in
// order (RevokeSubject, RevokeClient); and {prefix}meta, which holds the
// schema version and the sequence counter. IDs are the SHA-256 digests of
// the raw tokens, as bytea; raw tokens are never stored. Times are
// nanoseconds since 1970 (bigint), NULL for a zero RotatedAt. status_list
// is a bigint holding the uint64 list number's bits: a list above
// math.MaxInt64 shows as a negative number in SQL (the list less 2^64),
// and every list reads back through the Store exactly as it was written;
// status_idx is a bigint holding the uint32 index. Open and New create the
// tables or migrate them, in one transaction under the advisory lock, so
// replicas starting at once do not race; tables a newer release migrated
// are refused with ErrVersion. Schema version 2 added status_list and
// status_idx (rows of version 1 take 0 and 0, no entry, without a rewrite
// of the table) and rebuilt the seq index to include them, which blocks
// writes to the table while it runs. Every statement runs on an index.
//
// # Caveats
//
//   - The advisory lock serializes the writes of all replicas over one
//     prefix: write throughput is that of one writer at a time, shared by
//     group commit. Reads (IsRevoked) never touch the database.
//   - A replica that stops talking while it holds the write lock holds up
//     the writes of every replica for at most the idle in transaction
//     timeout (WithIdleInTransactionTimeout, 2s by default) after its last
//     statement; the writers waiting meanwhile get the lock if their lock
//     timeout (5s by default) is longer, and fail with
//     revoke.ErrUnavailable otherwise. The paused replica's write fails
//     with revoke.ErrUnavailable and is not committed. A write transaction
//     of your own over the Store (Update) is ended the same way if it
//     waits longer than the timeout between two statements.
//   - PostgreSQL keeps rows in a heap: the members of a grant are one range
//     of the primary key index, but their rows are adjacent only as far as
//     they were written together.
//   - Behind a transaction-mode connection pooler (PgBouncer), LISTEN does
//     not work: give the feed a direct connection with WithListenDSN, or
//     rely on the poll.
//   - The feed connection of a Store made by New comes from the pool's
//     configuration when the pool is pgx's; otherwise pass WithFeedConfig
//     or WithListenDSN, or Notify fails and Revokers poll only.
//   - Purging (revoke.Revoker.Purge) deletes in batches under the write
//     lock; run it from one replica (revoke.WithJanitor) rather than all.
//   - Import into tables no Revoker follows yet: a record imported with a
//     Seq below numbers already handed out is not read by followers that
//     are past it, until they restart.
//   - Open and New create or migrate the tables of their prefix and schema:
//     a mistyped WithTablePrefix makes an empty Store beside the real one.
//     Tools that only read (inspecting, exporting) should open
//     WithReadOnly, which creates, migrates and writes nothing, and fails
//     with ErrNotMigrated when the tables are missing or at an older
//     version.
package postgres
