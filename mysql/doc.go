// Package mysql keeps the records of a revoke.Revoker in MySQL or MariaDB
// (InnoDB) tables, through github.com/jmoiron/sqlx and
// github.com/go-sql-driver/mysql, for servers of several replicas, each
// with a Revoker of its own over the same tables:
//
//	store, err := mysql.Open(ctx, "auth@tcp(db:3306)/auth")
//	revoker, err := revoke.New(store) // revoker.Close closes the store
//
// The Store is Shared, without Notify: a Revoker reads the revocations of
// other replicas every sync interval (revoke.FollowPolicy.Interval).
//
// # Writes and the sequence
//
// Every write transaction first locks the sequence counter's row in the
// meta table (SELECT ... FOR UPDATE), which InnoDB holds to the commit or
// rollback and frees if the holder's connection dies: the writes of all
// processes run one at a time, at READ COMMITTED, so that each statement
// sees every earlier commit. Views run at REPEATABLE READ WITH CONSISTENT
// SNAPSHOT, READ ONLY, and never wait. NextSeq increments the counter in
// the locked row: the transaction that got n holds the lock until it has
// committed, and the one that gets n+1 takes it after that. So commit order
// is sequence order, and a follower that reads the revocations above the
// last number it saw skips none. A Put of a Seq above the counter (an
// import) raises it.
//
// # Tables
//
// Per prefix: {prefix}tokens, keyed by (grant_id, id), a grant one range;
// {prefix}owners, for GrantsOf; {prefix}meta, the schema version and the
// counter. Keys are VARBINARY, compared byte for byte. Open and New create
// or migrate them under GET_LOCK. Every statement runs on an index.
//
// # Caveats
//
//   - Writes of all replicas over one prefix run one at a time, shared by
//     group commit. IsRevoked never touches the database.
//   - A replica that stops talking while it holds the lock holds up every
//     writer until the server drops its connection: after the wait_timeout
//     Open sets, 30 s (give New a pool whose DSN sets one).
//   - Give New a pool with interpolateParams and multiStatements (Open sets
//     both): without them a new grant's Issue takes seven round trips, not four.
//   - On MySQL (not MariaDB) the lock wait timeout is set for the session
//     of each connection a write uses, not for one statement.
//   - DDL commits on its own: a migration cut short is completed by the
//     next Open. Open needs the CREATE privilege.
package mysql
