// Package mysql keeps the records of a revoke.Revoker in MySQL or MariaDB
// (InnoDB) tables, through github.com/jmoiron/sqlx and
// github.com/go-sql-driver/mysql, for authorization servers that run
// several replicas: each opens a Store over the same tables and runs a
// Revoker of its own, answering IsRevoked from memory.
//
//	store, err := mysql.Open(ctx, "auth@tcp(db:3306)/auth")
//	revoker, err := revoke.New(store) // revoker.Close closes the store
//
// Open makes a pool of the Store's own; New uses the application's and
// leaves it open on Close. The Store is Shared: a Revoker reads the
// revocations other replicas commit every sync interval
// (revoke.WithSyncInterval), since MySQL has no notifications.
//
// # Serializability and the sequence
//
// Every write transaction first locks one row, the sequence counter's in
// the meta table (SELECT ... FOR UPDATE); InnoDB holds the lock to the
// commit or rollback, and frees it when the holder's connection dies.
// Write transactions of every process so run one at a time: they are
// serializable. The wait is bounded by innodb_lock_wait_timeout, set for
// that statement (WithLockTimeout). Reads run at READ COMMITTED, each
// statement seeing every transaction committed before it, so all see what
// committed before the lock was granted. Views run at REPEATABLE READ,
// started WITH CONSISTENT SNAPSHOT and READ ONLY: one snapshot, never
// waiting for a writer.
//
// NextSeq increments the counter in that same row, read when it was
// locked. The transaction that got n holds the lock until it has
// committed; the one that gets n+1 takes the lock after that, and commits
// later. So commit order is sequence order: no reader sees a revocation at
// n+1 while the one at n is still to commit, and a follower that reads
// "every revocation above the last number I saw" skips none. Numbers of a
// transaction that rolled back are handed out again. A record Put with a
// Seq above the counter (an import) raises it, under the same lock.
//
// # Durability
//
// Update returns nil only after COMMIT returned. Open and New refuse, with
// ErrDurability, a server whose innodb_flush_log_at_trx_commit is not 1,
// or whose binary log is on with sync_binlog not 1, unless
// WithRelaxedDurability accepts it.
//
// # Schema
//
// Per prefix (WithTablePrefix, "revoke_" by default): {prefix}tokens, a
// row per record keyed by (grant_id, id), so that a grant's records are
// one range of the clustered index, with unique index on id and indexes on
// expiry and on seq (covering RevokedSince); {prefix}owners, a row per
// grant and owner, which GrantsOf reads a range of; {prefix}meta, the
// schema version and the counter. Client IDs and subjects are VARBINARY,
// compared byte for byte; times are nanoseconds since 1970. Open and New
// create or migrate the tables under a server lock (GET_LOCK), so replicas
// starting at once take turns; a newer version is refused with
// ErrVersion. Every statement runs on an index.
//
// # Caveats
//
//   - The lock serializes the writes of all replicas over one prefix:
//     write throughput is that of one writer at a time, shared by group
//     commit. IsRevoked never touches the database.
//   - A replica that stops talking while it holds the lock holds up every
//     replica's writes until the server drops its connection (wait_timeout
//     or TCP keepalive): MySQL has no idle in transaction timeout.
//   - On MySQL (not MariaDB) the lock wait timeout is set for the session
//     of each connection a write uses, not for one statement.
//   - DDL commits on its own: a migration cut short is completed by the
//     next Open, not rolled back. Open needs the CREATE privilege.
//   - Without interpolateParams in the DSN of New's pool, every statement
//     with arguments costs three round trips.
//   - Other replicas refuse a revoked token after their next poll, within
//     the sync interval, not at once.
package mysql
