// Command revokectl operates a revocation store of
// github.com/sdkauth/revocation from the shell: check whether a token is
// revoked, revoke a token, a subject's or a client's grants, see how big the
// store is, purge expired records, export and import them as JSON Lines, and
// migrate between backends.
//
//	go install ./cmd/revokectl    # in a clone of the repository
//
// revokectl is a module of its own (github.com/sdkauth/revocation/cmd/revokectl),
// so that its command-line packages stay out of the library's dependencies.
// Its go.mod replaces the library with the checkout it sits in (../..), which
// go install PATH@VERSION refuses: install it from a clone, where the
// repository's go.work joins it to the library.
//
// The store is named by a URL, with --store or the environment variable
// REVOKE_STORE:
//
//	bolt:PATH     a bbolt file (one process at a time)
//	sqlite:PATH   an SQLite database (works beside a running server)
//	postgres:DSN  a PostgreSQL database (works beside running servers)
//	mysql:DSN     a MySQL or MariaDB database (works beside running servers)
//
// --table-prefix names the tables of sqlite, postgres and mysql stores
// whose servers were configured with another prefix than revoke_. A
// password in a postgres or mysql DSN is printed as xxxxx.
//
// --token-key (or REVOKE_TOKEN_KEY) says how the servers identify a token,
// which check and revoke must match: raw (the default) is its exact bytes,
// as servers without revoke.WithTokenKey store it; jwt is
// jwtkey.KeyOrOpaque, for servers running with
// revoke.WithTokenKey(jwtkey.KeyOrOpaque): a JWT by its issuer and jti, so
// that every spelling of it is found, an opaque token by its bytes. check
// says on standard error when a token it did not find looks like a JWT.
//
// Commands (scripts may rely on these names):
//
//	stats            records; live, revoked, expired, spent counts; access and refresh;
//	                 distinct grants, subjects, clients; top clients; oldest
//	                 expiry; highest sequence; schema version; size on disk
//	check            is the token on stdin revoked? (exit 0 yes, 1 no)
//	revoke           revoke the token on stdin (a refresh token: its grant)
//	revoke-subject   revoke every grant of a subject
//	revoke-client    revoke every grant of a client
//	purge            delete records expired more than --grace ago
//	export           every record as JSON Lines, in ID order
//	import           JSON Lines records into the store
//	migrate          copy every record --from one store --to another, verified
//
// Every command has --help with an example. Human output by default; --json
// prints one JSON object for scripts. Errors go to standard error.
//
// # Exit codes
//
//	0    success (check: the token is revoked)
//	1    check: the token is not revoked (live, spent, expired or unknown)
//	2    usage: bad command line, store URL or token input
//	3    store unavailable: locked by a running server (bolt), busy or
//	     unreachable; nothing was written, retry later
//	4    not found: the store file, or its tables (--table-prefix) at this
//	     schema version, do not exist (only import and migrate --to create or
//	     migrate them), or the token given to revoke was never issued
//	6    migrate: verification failed, the two stores differ
//	7    any other failure (I/O, corrupt store, bad import data)
//	130  interrupted between batches; what was committed stays, re-run to finish
//
// # Caveats
//
//   - Only import and migrate --to create a store, or tables of a prefix,
//     or migrate tables of an older schema version. The other commands open
//     sqlite and postgres stores WithReadOnly first and fail with exit code
//     4 when the tables are not there at this version (a mistyped
//     --table-prefix): they never leave empty tables behind. check, stats,
//     export, the dry runs, migrate --from and migrate --verify-only write
//     nothing at all. A mysql store has no read-only mode: revokectl looks
//     for its tables first (exit code 4 without them), and the read-only
//     commands refuse to write; opening still takes the mysql package's
//     migration lock and needs the CREATE privilege.
//   - Tokens are read from standard input or --token-file, never from the
//     command line, where shell history and ps would show them.
//   - A bolt file is locked by the process that has it open. While a server
//     runs on it, revokectl waits --lock-timeout (1s by default) and fails
//     with exit code 3 and the lock error: stop the server, or run the server
//     on sqlite, which revokectl opens beside it.
//   - revokectl keeps no Revoker running: a revocation it writes to an sqlite
//     store reaches a running server within the server's sync interval; one
//     it writes to a bolt file (server stopped) is loaded when the server
//     starts.
//   - purge, import, migrate, revoke-subject and revoke-client stop
//     between batches on Ctrl-C or SIGTERM: the batch under way commits,
//     nothing is half-written, what was done is reported, and running the
//     same command again finishes the work (import and migrate are
//     idempotent: equal records are not rewritten).
//   - import and migrate check every record (revoke.ValidRecord) before
//     they write anything: a record no server could have written (a bad
//     field, a seq above 2^53-1, which would exhaust the store's sequence)
//     fails the whole command with its line or ID and field, exit code 7,
//     and nothing is written or created. What needs other records (an ID
//     given twice in one batch, a record that breaks its grant) is checked
//     batch by batch as it is written: it fails the command with the
//     record's ID, exit code 7, after the batches before it were committed.
//     So does a record that would undo what the store holds: a token
//     revoked there that the record has live, or a refresh token rotated
//     there that the record has not (an old export, or a migrate run again
//     after servers on the target revoked tokens): no import or migrate
//     brings a revoked token back.
//   - Checksums: a record's "check" field cannot be verified without the
//     token. Servers find tokens by their ID alone, so a wrong one hides
//     nothing; it is kept for the export format. migrate keeps it (both
//     stores were written by this library); import stores a new record
//     with check 0 (unknown), keeps the checksum of a record already
//     stored, and with --trust-checksums keeps the file's, for
//     re-importing export's output unchanged.
//   - import and migrate keep records' revocation sequence numbers and move
//     the target's sequence past them. Import into a store no server runs on:
//     a server following an sqlite store reads revocations by increasing
//     sequence number and would not see imported ones below what it has read
//     until it restarts.
//   - migrate verifies by counting and digesting both stores after the copy;
//     records written to the source meanwhile, or other records in the
//     target, make it fail with exit code 6.
//   - stats counts distinct grants, subjects and clients exactly up to
//     1048576 each (memory stays bounded), and reports "at least" beyond.
package main
