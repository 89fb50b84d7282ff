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
// # Serializability and the sequence
//
// Update takes a transaction-level advisory lock, one per schema and table
// prefix, in the same round trip as BEGIN: write transactions of every
// process run one at a time, are serializable, and cannot deadlock with
// each other. (Every revocation writes the one sequence counter row, so
// SERIALIZABLE isolation would make revocations conflict and retry anyway;
// the group committer of package revoke shares one lock turn among a
// process's concurrent writers.) The transaction runs at READ COMMITTED,
// so that its reads, made after the lock is granted, see every transaction
// committed before.
//
// NextSeq increments a counter row of the meta table (UPDATE ...
// RETURNING). With the advisory lock held to the commit, commit order is
// sequence order, so a follower that reads every revocation above the last
// number it saw skips none. A record Put with a Seq of its own (an import)
// raises the counter to it in the same statement.
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
// a replica that stops talking while it holds the write lock (see
// WithIdleInTransactionTimeout), which releases the lock.
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
//   - The advisory lock serializes the writes of all replicas over one
//     prefix: write throughput is that of one writer at a time, shared by
//     group commit. Reads (IsRevoked) never touch the database.
//   - Behind a transaction-mode connection pooler (PgBouncer), LISTEN does
//     not work: give the feed a direct connection with WithListenDSN, or
//     rely on the poll.
//   - Purging (revoke.Revoker.Purge) deletes in batches under the write
//     lock; run it from one replica (revoke.PurgePolicy.Every) rather than all.
//   - Import into tables no Revoker follows yet: a record imported with a
//     Seq below numbers already handed out is not read by followers that
//     are past it, until they restart.
//   - Open and New create the tables of their prefix and schema: a
//     mistyped WithTablePrefix makes an empty Store beside the real one.
//     Tools that only read should open WithReadOnly.
package postgres
