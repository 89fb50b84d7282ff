// Package sqlite keeps the records of a revoke.Revoker in a SQLite
// database, through github.com/jmoiron/sqlx and the
// github.com/mattn/go-sqlite3 driver.
//
// It is for authorization servers that already run on SQLite, and for
// several server processes on one host that must share their revocations:
// they open the same file, each with a Revoker of its own, and a token
// revoked through any of them is refused by all.
//
//	store, err := sqlite.Open("/var/lib/authserver/revocations.db")
//	if err != nil {
//		return err
//	}
//	revoker, err := revoke.New(store) // revoker.Close closes the store
//
// Open opens (or creates) a database file of the Store's own. New puts the
// Store's tables into the application's database instead, beside its own
// tables, and leaves that database open on Close.
//
// # Durability
//
// Open puts the database in WAL mode and commits with synchronous=FULL: the
// write-ahead log is synced to stable storage before a commit returns, so a
// revocation that Revoke acknowledged survives a crash of the process, of
// the operating system, or of the power. WithSynchronous(SynchronousNormal)
// trades the last case for faster commits, and only when asked. A Store made by New
// applies the same synchronous level to the connection of each of its write
// transactions, and restores the application's setting afterwards.
//
// A database Open creates has pages of 2 KiB rather than SQLite's 4 KiB.
// Tokens are found by their SHA-256 ID, so each token of a commit lands on
// its own leaf of the index by ID, and a commit writes about a page per
// token to the WAL (and again when the WAL is checkpointed into the file):
// 2 KiB pages write a third fewer bytes per token at the same throughput
// (BENCHMARKS.md, "Durable issuance under load"). 1 KiB pages would halve
// them, but a grant's cascade, whose rows then spread over twice as many
// pages, takes longer. A database created with
// another page size keeps it; a VACUUM after PRAGMA page_size = 2048, with
// the journal mode set to DELETE for the VACUUM, converts it. The WAL is
// checkpointed into the file once it holds 32 MiB.
//
// # Concurrency across processes
//
// Every write transaction begins with BEGIN IMMEDIATE, which takes the
// database's write lock before it reads anything: two processes writing at
// once are serialized, never deadlock (no transaction upgrades a read lock
// it already holds), and never overwrite each other's updates. A process
// that finds the lock taken waits for up to the busy timeout (5 seconds by
// default, see WithBusyTimeout) before its write fails with SQLite's
// "database is locked". Within one process, the Store's writes queue on a
// mutex instead, and a Revoker shares one transaction among concurrent
// writers (group commit). Read transactions see a snapshot; in WAL mode
// they neither wait for writers nor hold them up.
//
// Each process answers IsRevoked from the in-memory index of its Revoker.
// Store.Capabilities declares the Store Shared, so the Revoker follows the
// database's revocation sequence: every sync interval
// (revoke.FollowPolicy.Interval, one second by default) it reads the
// revocations committed since its last read, through an index on the
// sequence. A revocation committed by another
// process is therefore reported by this one within about the sync interval;
// its own revocations, at once. The sequence counter is read and written
// inside the write-locked transaction, so it increases with commit order
// across processes, and a follower misses nothing.
//
// # cgo
//
// The go-sqlite3 driver is SQLite's C source compiled with cgo: building
// needs CGO_ENABLED=1 and a C compiler for the target (the first build
// takes a minute or more). Programs that must build without cgo can use the
// memory or bolt backends.
//
// # Schema and versions
//
// With the default prefix (see WithTablePrefix) the Store keeps four tables:
//
//	revoke_tokens(gkey INTEGER, id BLOB, grant_id BLOB, check_sum, kind,
//	              client_id, subject, parent, expires_at, seq, successor,
//	              rotated_at, retries, superseded, status_list, status_idx,
//	              PRIMARY KEY (gkey, id)) WITHOUT ROWID
//	revoke_grants(gkey INTEGER PRIMARY KEY, grant_id BLOB UNIQUE)
//	revoke_owners(owner INTEGER, key TEXT, grant_id BLOB,
//	              PRIMARY KEY (owner, key, grant_id)) WITHOUT ROWID
//	revoke_meta(name TEXT PRIMARY KEY, value INTEGER) WITHOUT ROWID
//
// grant_id, id and parent are SHA-256 digests of raw tokens (32 bytes); the
// raw tokens are never stored. expires_at is in nanoseconds since 1970 UTC.
// seq is zero for a live token and the revocation sequence number of a
// revoked one. status_list and status_idx are the token's Token Status
// List entry (revoke.Record.Status), 0 and 0 for none; status_list holds
// the uint64 list number as the int64 of the same bits, so a list above
// math.MaxInt64 shows as a negative number in SQL and reads back exactly.
// successor, rotated_at, retries and superseded are the rotation state of
// a refresh token.
//
// gkey is the store's own key of a grant, handed out in ascending order
// as grants are created. The primary key so keeps the tokens of a grant
// side by side, and the grants created at the same time side by side too,
// at the right edge of the table: a commit of concurrent Issues writes a
// few contiguous leaves rather than a random leaf per grant, and a
// cascade (Tx.RevokeGrants) is one UPDATE of the seq column over a range
// of the key: revoking a grant of 1,001 tokens writes some 60 pages of 4
// KiB. A grant's key is found through its first token's row;
// revoke_grants holds the keys of the grants whose first token is not in
// the store (deleted, or not imported), and loses a grant's row with its
// last token.
//
// Every token is found by id through a unique index on id (Get, Scan),
// expired tokens through an index on expires_at (Purge), and revocations
// through a partial index on seq WHERE seq > 0, which holds check_sum,
// expires_at and the Status List entry too, so that loading the
// revocations reads the index alone. revoke_owners lists the grants of a
// user (owner 1, key the subject) or a client (owner 2, key the client
// ID), one row per grant, for RevokeSubject and RevokeClient: the first
// token put of a grant adds its rows, the deletion of its last token
// removes them. Every query searches an index, and costs in proportion to
// the rows it touches.
//
// revoke_meta holds the schema version of the prefix's tables (5, see
// SchemaVersion) and the sequence counter. Open and New create missing
// tables in one BEGIN IMMEDIATE transaction, so that processes starting
// together on a new file do not race, and refuse tables of any other
// version with revoke.ErrVersion: a newer one, or one of the versions 1 to 4,
// which predate the first release and are not migrated. The
// version is kept in the meta table rather than in PRAGMA user_version
// because New puts the tables into the application's database: the
// application may use user_version for its own schema, and one database
// may hold two Stores with different prefixes, each with its own version.
//
// # Caveats
//
//   - All processes must be on one host, with the file on a local file
//     system: WAL mode shares memory between processes through the -shm
//     file and does not work over a network file system.
//   - A revocation committed by another process is visible to this
//     process's IsRevoked only after the follower's next read, that is
//     within about the sync interval. A revoke.FollowPolicy with an
//     Interval of 0 makes IsRevoked read the database for every token the index does not
//     hold instead: exact, but a query per call.
//   - New leaves the journal mode as the application set it. WAL is strongly
//     recommended (PRAGMA journal_mode=WAL, or _journal_mode=WAL in the
//     data source name): in the rollback-journal modes readers and the
//     committing writer block each other, within the busy timeout. An
//     in-memory database must be limited to one connection
//     (db.SetMaxOpenConns(1)), since each connection to ":memory:" is a
//     database of its own.
//   - A read transaction that stays open keeps SQLite from checkpointing
//     the WAL past it, and the -wal file grows until it ends.
//   - The functions given to View and Update must not call the same Store:
//     they would wait for themselves.
//   - Client IDs and subjects are stored as given, in clear.
//   - Times are kept as int64 nanoseconds, which covers the years 1678 to
//     2262; a Revoker refuses expiries outside that range.
//   - Open of a file the process cannot write fails with revoke.ErrReadOnly. New
//     over a database opened read-only (mode=ro in the data source name)
//     succeeds if the tables are up to date: reads work, and every write
//     fails with revoke.ErrReadOnly.
//   - Open and New create the tables of their prefix: a mistyped
//     WithTablePrefix makes an empty Store beside the real one. Tools that
//     only read (inspecting, exporting) should open WithReadOnly, which
//     creates and writes nothing, and fails with ErrNotMigrated when the
//     prefix's tables are missing.
package sqlite
