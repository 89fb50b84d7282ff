// Package sqlite keeps the records of a revoke.Revoker in a SQLite
// database, through github.com/jmoiron/sqlx and the
// github.com/mattn/go-sqlite3 driver.
//
// It is for authorization servers that already run on SQLite, and for
// several server processes on one host that share their revocations: each
// opens the same file with a Revoker of its own, and a token revoked
// through any of them is refused by all.
//
//	store, err := sqlite.Open("/var/lib/authserver/revocations.db")
//	if err != nil {
//		return err
//	}
//	revoker, err := revoke.New(store) // revoker.Close closes the store
//
// Open opens (or creates) a database file of the Store's own. New puts the
// Store's tables into the application's database instead, and leaves that
// database open on Close.
//
// # Durability
//
// Open puts the database in WAL mode and commits with synchronous=FULL: a
// commit that returned survives a crash of the process, the operating
// system or the power. WithSynchronous(SynchronousNormal) gives up the last
// two for faster commits. A Store made by New applies the same level to
// the connection of each write transaction, and restores the application's
// afterwards. The application's own connections at synchronous=OFF can
// still checkpoint or close the WAL without syncing it, losing what the
// Store committed: give the pool of New synchronous=NORMAL or above.
//
// A database Open creates has pages of 2 KiB rather than 4 KiB: tokens are
// found by their SHA-256 ID, so each token of a commit lands on a leaf of
// its own and costs about a page of WAL, and 2 KiB pages write a third
// fewer bytes at the same throughput (BENCHMARKS.md, "Durable issuance
// under load"). A database created with another page size keeps it. The
// WAL is checkpointed into the file once it holds 32 MiB.
//
// # Concurrency across processes
//
// Every write transaction begins with BEGIN IMMEDIATE, which takes the
// database's write lock before it reads anything: writers of all processes
// run one at a time and never deadlock. A process that finds the lock
// taken waits up to the busy timeout (WithBusyTimeout) before its write
// fails with an error wrapping revoke.ErrUnavailable, and also the
// context's error if the context ended meanwhile (SQLite's wait does not
// stop for it); within one process, writes queue on a mutex instead. In WAL mode read transactions neither
// wait for writers nor hold them up. The Store is declared Shared, and the
// sequence counter moves inside the write-locked transaction, so a
// Revoker's follower reads every revocation of other processes, through an
// index on the sequence, within about the sync interval.
//
// # cgo
//
// The go-sqlite3 driver is SQLite's C source compiled with cgo: building
// needs CGO_ENABLED=1 and a C compiler (the first build takes a minute or
// more). Programs built without cgo get ErrNeedsCgo; they can use the
// memory or bolt backends.
//
// # Schema
//
// Four tables per prefix (WithTablePrefix): {prefix}tokens, one row per
// record, keyed by (gkey, id), gkey being the store's own key of the
// record's grant, handed out in ascending order, so that the tokens of a
// grant lie side by side and a cascade is one UPDATE over a range of the
// key; {prefix}grants, the keys of the grants whose first token is not
// stored (deleted, or not imported); {prefix}owners, one row per grant and
// owner, for GrantsOf; and {prefix}meta, the schema version and the
// sequence counter. IDs are SHA-256 digests of the raw tokens, which are
// never stored; times are int64 nanoseconds in UTC. Every statement runs
// on an index. Open and New create missing tables in one BEGIN IMMEDIATE
// transaction, and refuse tables at another version than SchemaVersion
// with an error wrapping revoke.ErrVersion (versions 1 to 4 predate the
// first release), and tables of their names that are not the Store's (the
// application's) with one wrapping revoke.ErrCorrupt. The version is kept in the meta table, not in PRAGMA
// user_version, which belongs to the application's schema under New.
//
// # Caveats
//
//   - All processes must be on one host, with the file on a local file
//     system: WAL mode shares memory between processes through the -shm
//     file and does not work over a network file system.
//   - A revocation committed by another process is visible to this
//     process's IsRevoked only after the follower's next read, that is
//     within about the sync interval. A revoke.FollowPolicy with an
//     Interval of 0 makes IsRevoked read the database for every token the
//     index does not hold instead: exact, but a query per call.
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
