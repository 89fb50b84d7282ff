// Package bolt is a revoke.Store in a bbolt database (go.etcd.io/bbolt): one
// data file (and a journal beside it while the store is open), pure Go, no
// cgo, no server. It suits an authorization server
// that runs as a single process and wants its revocations to survive
// restarts and crashes.
//
//	s, err := bolt.Open("/var/lib/authd/revocation.db")
//	if err != nil { ... }
//	r, err := revoke.New(s) // loads the revocations; r.Close closes s
//
// Open owns the file and closes it with the Store. New puts the store in a
// *bbolt.DB the application already has open, in a bucket of its own (see
// WithBucket), beside the application's buckets; closing that Store leaves
// the database open.
//
// # Durability
//
// A Store from Open commits to a journal and writes its B+tree later, in
// batches. An Update's writes are kept in memory while fn runs; when fn
// returns nil they are appended to the journal as one frame (length and
// CRC-32C, under a checksum of their own, then the records as the tree
// stores them, deletions, the sequence counter) with one write, the
// segment's header records that the frames before it are durable, and one
// fdatasync makes both durable; then the commit is made visible and
// acknowledged. So when Update returns nil the change is on
// stable storage, and a process crash, an operating-system crash or a power
// loss loses nothing acknowledged: one fsync per commit, and the Revoker's
// group commit shares it among the writes that arrive while the previous
// commit runs. BENCHMARKS.md, at the root of the repository, has the
// figures and the commands that measure them. WithNoSync drops the fsyncs
// for tests and caches, at the price documented there.
//
// Transactions read the journal's commits that the tree does not hold yet
// (kept in memory, newest first) over a bbolt read transaction of the
// tree. A background applier writes them to the tree, with the code and
// in the layout below, when 8192 records have changed or 200 ms have
// passed: commits switch to a new journal segment, the applier writes the
// old segment's commits in bbolt transactions of at most 4096 records
// (bbolt syncs each), then deletes the segment and syncs the directory,
// so that a crash cannot bring it back to be replayed over later commits.
// The random pages of the ids and owners indexes are thus rewritten once
// per batch of thousands of tokens rather than once per commit. Updates wait for the applier if it
// falls four batches behind, which bounds the memory the journal takes.
//
// The files: the database file, and beside it, while a Store from Open is
// open or after a crash, its journal segments, named after the file:
// "<path>-journal.<n>" for the default bucket, "<path>-journal-<hex of the
// bucket name>.<n>" for others. They are covered by the file's lock: only
// the handle that holds it touches them. Open replays the segments into
// the tree, in order, and deletes them (see Damage for what it checks
// first). Replaying a segment whose commits are in the tree already (a
// crash between the applier's commit and the segment's deletion) leaves
// the same tree. Close writes everything to the tree and deletes the
// journal: a cleanly closed store is one file.
//
// # Damage
//
// Open reads and checks every journal segment before it replays any. A
// crash while a commit is being written leaves a torn tail: a part of that
// frame at the end of the last segment, or zeros where the file system
// extended the file before the data reached it. That commit was never
// acknowledged; Open drops it and replays the rest. Damage is anything
// else, and Open refuses it with an error wrapping revoke.ErrCorrupt that names
// the segment file and the offset of the damage, and deletes, replays and
// changes nothing: the files stay as they are for an operator to examine,
// or to restore from a backup. What Open takes for damage:
//
//   - A frame that is cut, zeroed or fails a checksum (of its payload, or
//     of its header, which covers its length), or a segment that ends,
//     before the segment's recorded acknowledged extent. Each commit
//     records there, in the same fdatasync as its frame, the end of the
//     frame before it, and the switch to a new segment records the end of
//     the last frame: so every acknowledged commit of a segment is covered
//     but the last one of the last segment (see Caveats).
//   - Past that extent, a bad frame with a valid frame anywhere after it:
//     a torn tail is the last frame.
//   - Any bad frame in a segment that another follows.
//   - A segment whose header is damaged, cut or missing. A segment is
//     written under a temporary name ("<path>-journal.new" for the
//     default bucket) and renamed to its number once its header is
//     durable, so a segment never lacks a header; what a crash left under
//     the temporary name holds no commit, and a writable Open removes it.
//   - A gap in the segments' numbers: a lost segment.
//
// The frame headers and the extent records are checked with a random salt
// of their segment, so that bytes of a frame inside a payload (a subject
// or client is the caller's string), or frames of another segment, do not
// pass for frames of this one.
//
// Backups: call Store.Checkpoint, after which the database file alone holds
// every write acknowledged before the call, then copy the file (bbolt's
// own bbolt.Tx.WriteTo, through an application's *bbolt.DB, or a copy of
// the closed file); or copy the database file and every journal segment
// together while nothing writes. A copy of the database file alone, taken
// without Checkpoint, lacks the commits still in the journal.
//
// A Store from New has no journal: each Update is one bbolt read-write
// transaction, committed with bbolt's fsync of the data and then of the
// meta page (unless the application's db has NoSync). It replays a journal
// that a Store from Open of the same file and bucket left behind.
//
// bbolt's free-page list is written with each commit (the default:
// bbolt.Options.NoFreelistSync is not set) and kept in memory as a hash map
// (bbolt.FreelistMapType), which allocates in constant time however
// fragmented purges leave the file. Not writing the freelist would save a
// page write per commit, a small part of a commit beside its fsync, but
// every Open would then walk the whole file to rebuild the list, which takes
// time proportional to the file. And bbolt does that walk in a goroutine of
// its own, where a damaged page crashes the process instead of failing Open.
//
// # Concurrency
//
// A Store is safe for concurrent use. Views run concurrently with each other
// and with the one Update that runs at a time. The file is locked (flock) by
// the handle that opened it: another Open of the same file, in this process
// or another, waits up to the lock timeout (WithTimeout, DefaultTimeout by
// default) and then fails with ErrLocked; it never waits forever. Read-only
// handles (WithReadOnly) share a lock with each other but not with a writer.
// One process thus serves the file, and the Store declares no
// revoke.Capabilities (not Shared): a Revoker's own revocations reach its
// index as it commits them, and nothing else writes.
//
// On a Store from Open, a View reuses a bbolt read transaction that an
// earlier View finished with, when it began less than a millisecond ago and
// no batch of the journal has reached the tree since, rather than begin its
// own: beginning and ending one takes bbolt's metadata mutex, which many
// concurrent readers otherwise queue on (at 32 readers on 2 cores, for
// milliseconds at the 99th percentile). An idle transaction is rolled back
// within about 3 ms, so a growth of the file, which waits for every open
// read transaction, waits that much longer at most.
//
// # Layout
//
// Everything lives under one top-level bucket, "revocation" by default
// (WithBucket), in seven sub-buckets:
//
//	records    grant key ‖ token ID → record (see below)
//	ids        token ID → grant key, for every token
//	grantkeys  grant ID → grant key, for a grant with records but not
//	           its first token (deleted, or never stored)
//	expiry     expiry ‖ token ID → empty
//	revoked    Seq ‖ token ID → CRC-32C (4 bytes) ‖ expiry (8 bytes)
//	           [‖ Status List entry: list, index, uvarints]
//	meta       "version"  → format version, uint32
//	           "seq"      → revocation sequence counter, uint64
//	           "grantseq" → the last grant key handed out, uint64
//	owners     owner ‖ SHA-256(subject or client) ‖ grant ID → empty: the
//	           subject and client index of RevokeSubject and RevokeClient
//	           (owner 1 is a subject, 2 a client), one entry per grant
//
// IDs are the SHA-256 of the raw token (revoke.ID); no raw token value is
// ever written. Integers are big-endian, so that keys sort by number; an
// expiry is the Unix time in nanoseconds as an int64, its sign bit flipped
// so that it sorts. A record is versioned and compact: an encoding version
// byte, flags, kind, CRC-32C, expiry, Seq, the parent and grant IDs only
// when there are any (the grant is omitted when it is the token itself), and
// the client and subject as length-prefixed strings, then, for a rotated
// refresh token only, its successor, rotation time and grace retries, and,
// for a token with a Token Status List entry (revoke.Record.Status) only,
// its list and index as uvarints. A token that starts its own grant takes
// 25 bytes plus its client and subject (and 2 to 15 bytes for a Status
// List entry). A revoked record's entry in the revoked bucket carries its
// Status List entry too, when it has one, so that RevokedSince reports it
// (and revoke.Revoker.Statuses reads it) from that bucket alone.
//
// A grant key is 8 bytes, handed out from a counter in ascending order as
// grants are created; it is internal to the store (Record.Grant stays the
// grant's SHA-256 ID). Records are keyed by their grant's key first, so
// that the records of a grant are adjacent in the B+tree, and the grants
// issued at the same time are adjacent too, at the right edge of the
// bucket. Listing a grant is one lookup and one cursor run, and revoking
// it, which rewrites every member, rewrites the few pages they share
// instead of a page per member. A commit of concurrent Issues, each in a
// grant of its own, thus rewrites a few contiguous pages of records rather
// than a random page per grant. Get looks the token's ID up in ids, then
// reads grant key ‖ ID. The key of a grant is its first token's ids entry
// while that token is in the grant (grantkeys holds the others). Issuing a
// token costs one random B+tree insert, into ids, plus, for the first token
// of a grant, one per owner into owners; its record and expiry entry land
// near the end of their buckets. Scan reads ids in ID order.
//
// Each index entry, and a record's ids entry, is written and removed in
// the same transaction as its record, so RevokedSince streams the revoked
// index alone, in Seq order, without touching a record (see BENCHMARKS.md
// for revoke.New over a million revocations). Every record of a grant has
// the grant's subject and client (see revoke.Store), so a grant's owners
// entries are written with its first record and removed with its last.
//
// The format version, FormatVersion, is written when the store is created.
// Open and New refuse a store of a newer or unknown version with revoke.ErrVersion
// and leave it untouched: a newer version of this package may change the
// layout, and this one will not misread it. Version 3 has the grant keys
// and one owners entry per grant, version 4 the journal (the tree is
// version 3's), version 5 a record's Status List entry, in its record and
// its revoked entry (only records that have one carry it: those of
// versions 3 and 4 read as they are, with the zero StatusRef). A writable
// Open or New upgrades a version 3 or 4 store by writing the version, so
// that a package that knows no journal, or no Status, refuses it; a
// read-only one reads it as it is. The journal's segments have a format version of their own: version 2
// added the frame header's checksum, the salt and the acknowledged extent;
// version 1, which no release wrote, is refused with revoke.ErrVersion and left
// as it is.
//
// Logging out a user or a client (revoke.Revoker.RevokeSubject,
// RevokeClient) reads the owners bucket: one cursor seek, then one step per
// grant of that user, whatever the size of the store.
//
// # Caveats
//
//   - A failed commit stops the store. When the journal's write or sync
//     fails, or writing a batch to the tree or durably deleting its segment
//     does, Update returns the error, wrapping revoke.ErrUnavailable, and the
//     Store refuses every later Update with one too (Close syncs the
//     directory again): close it and open the file
//     again (which replays the journal). Nothing acknowledged is lost; the
//     commit whose write failed was not acknowledged.
//   - The journal cannot tell every loss. The last acknowledged commit of
//     the last segment, when the process stopped after it (before the next
//     commit recorded it in the extent), is checked by its checksums alone:
//     if the disk loses it, cuts it or zeroes it, with nothing valid after
//     it, it reads as a torn tail and Open drops it. So does a lost last
//     segment whole: nothing records that it existed. With WithNoSync
//     nothing is recorded in the extent (nothing is known durable), so a
//     damaged frame with no valid frame after it, in the last segment, is
//     taken for a torn tail wherever it is. The extent's record of a
//     segment's switch is not synced; when a crash loses it, the segment's
//     last commit is checked as above.
//   - A refused journal needs an operator. Open returns revoke.ErrCorrupt until
//     the files change: restore the database file and its segments from a
//     backup taken together. Moving the damaged segment, and every segment
//     numbered after it, out of the directory lets Open replay the others,
//     without their commits: the commits before the offset the error names
//     are intact, but this package has no tool that keeps them alone.
//   - Backups need Checkpoint, or the journal segments with the file (see
//     Durability). A tool that opens the file with bbolt directly (bbolt's
//     commands, an older version of this package) sees the tree without
//     the journal's commits; this package's Open and New replay them.
//   - Memory. The journal's commits that the tree does not hold yet are
//     kept in memory, up to four batches of 8192 records.
//   - One process. The file lock keeps a second process out (it fails with
//     ErrLocked after the timeout); several servers need a store they can
//     share, such as the sqlite backend.
//   - Local disks only. flock and mmap over network file systems (NFS, SMB)
//     are unreliable; keep the file on a local file system.
//   - The file does not shrink. Purge frees pages for reuse, but bbolt never
//     returns them to the file system; bbolt's compact command (or
//     bbolt.Compact, with the Store closed) does.
//   - Damage after opening. Open and New check the file's header, its size
//     and the store's layout, and turn a bbolt panic or a memory fault while
//     doing so into revoke.ErrCorrupt. bbolt trusts its pages after that: a file
//     damaged or truncated while open (by another program, or by disk
//     failure) can make a later transaction panic or fault. Check a suspect
//     file with bbolt's check command. A file Open refuses because bbolt
//     panicked on it is unlocked and closed, but stays mapped into memory
//     until the process ends.
//   - Write permission. Open refuses, with revoke.ErrReadOnly, a file without write
//     permission bits or a new file in a directory without them, even when
//     the process could write anyway (as root); WithReadOnly reads such a
//     file. An empty file is taken as a new database.
//   - Expiry range. Expiries are kept as int64 nanoseconds: years 1678 to
//     2262 (revoke refuses later ones; Put of an expiry outside the range
//     fails).
//   - Mapped memory. bbolt maps the file into memory; the resident set grows with
//     the part of the file in use, and a Revoker keeps the revoked IDs in
//     memory too.
package bolt
