package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
)

// schemaVersion is the version of the tables this package writes: the
// number of migrations.
var schemaVersion = len(migrations)

// migrations[i] takes the tables of a prefix from version i to i+1. "{p}"
// stands for the table prefix. Each runs in the transaction that records
// the new version, so a migration is applied entirely or not at all.
var migrations = [][]string{
	// 1: the tokens table and its indexes, and the sequence counter.
	{
		// Keyed by (grant_id, id): the members of a grant are contiguous,
		// so that a cascade reads and rewrites a few leaves rather than
		// one leaf per member. A token that starts its own grant (most
		// tokens) is at (id, id).
		`CREATE TABLE "{p}tokens" (
			grant_id   BLOB    NOT NULL,
			id         BLOB    NOT NULL,
			check_sum  INTEGER NOT NULL,
			kind       INTEGER NOT NULL,
			client_id  TEXT    NOT NULL,
			subject    TEXT    NOT NULL DEFAULT '',
			parent     BLOB,
			expires_at INTEGER NOT NULL,
			seq        INTEGER NOT NULL DEFAULT 0,
			PRIMARY KEY (grant_id, id)
		) WITHOUT ROWID`,
		// The tokens that do not start their grant, by id: Get finds them
		// here, and no two of them share an ID. The first tokens of grants
		// are left out, which spares a random B-tree insert per Issue: Get
		// finds them by primary key. That a first token and another share
		// no ID is Put's to keep (see tx.Put).
		`CREATE UNIQUE INDEX "{p}tokens_id" ON "{p}tokens" (id) WHERE grant_id != id`,
		`CREATE INDEX "{p}tokens_expires" ON "{p}tokens" (expires_at)`,
		// Covering for RevokedSince: the start-up load reads the index
		// alone, never the table.
		`CREATE INDEX "{p}tokens_seq" ON "{p}tokens" (seq, check_sum, expires_at) WHERE seq > 0`,
		`INSERT INTO "{p}meta" (name, value) VALUES ('seq', 0)`,
	},
	// 2: the rotation state of refresh tokens, and the subject and client
	// indexes of RevokeSubject and RevokeClient.
	{
		`ALTER TABLE "{p}tokens" ADD COLUMN successor BLOB`,
		// Unix nanoseconds; NULL for the zero time (never rotated).
		`ALTER TABLE "{p}tokens" ADD COLUMN rotated_at INTEGER`,
		`ALTER TABLE "{p}tokens" ADD COLUMN retries INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE "{p}tokens" ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0`,
		// The grants of a subject or client, in grant order: Grants reads
		// a range of one of these indexes alone (the primary key's
		// grant_id is in every index entry of a WITHOUT ROWID table).
		`CREATE INDEX "{p}tokens_subject" ON "{p}tokens" (subject, grant_id) WHERE subject != ''`,
		`CREATE INDEX "{p}tokens_client" ON "{p}tokens" (client_id, grant_id)`,
	},
	// 3: the grants of a subject or client in a table of one row per
	// grant and owner, in place of the indexes of migration 2, which held
	// an entry per token. The tokens issued under a grant share its
	// subject and client, so only the first token of a grant adds rows;
	// the indexes took two random B-tree inserts per token.
	{
		`CREATE TABLE "{p}owners" (
			owner    INTEGER NOT NULL, -- 1 subject, 2 client (revoke.Owner)
			key      TEXT    NOT NULL,
			grant_id BLOB    NOT NULL,
			PRIMARY KEY (owner, key, grant_id)
		) WITHOUT ROWID`,
		`INSERT INTO "{p}owners" (owner, key, grant_id)
			SELECT DISTINCT 1, subject, grant_id FROM "{p}tokens" WHERE subject != ''`,
		`INSERT INTO "{p}owners" (owner, key, grant_id)
			SELECT DISTINCT 2, client_id, grant_id FROM "{p}tokens"`,
		`DROP INDEX "{p}tokens_subject"`,
		`DROP INDEX "{p}tokens_client"`,
	},
	// 4: tokens keyed by (gkey, id), gkey being the grant's key in the
	// grants table, handed out in ascending order as grants are created,
	// instead of (grant_id, id): the tokens of the grants issued at the
	// same time are adjacent at the right edge of the table, rather than
	// on a random leaf per grant. Every token is in the index on id.
	{
		`CREATE TABLE "{p}grants" (
			gkey     INTEGER PRIMARY KEY,
			grant_id BLOB    NOT NULL
		)`,
		`INSERT INTO "{p}grants" (grant_id) SELECT DISTINCT grant_id FROM "{p}tokens" ORDER BY grant_id`,
		// (Only the grants without their first token need a row: the
		// others' rows stay until the grant has no token, harmlessly.)
		`CREATE UNIQUE INDEX "{p}grants_id" ON "{p}grants" (grant_id)`,
		`CREATE TABLE "{p}tokens_4" (
			gkey       INTEGER NOT NULL,
			id         BLOB    NOT NULL,
			grant_id   BLOB    NOT NULL,
			check_sum  INTEGER NOT NULL,
			kind       INTEGER NOT NULL,
			client_id  TEXT    NOT NULL,
			subject    TEXT    NOT NULL DEFAULT '',
			parent     BLOB,
			expires_at INTEGER NOT NULL,
			seq        INTEGER NOT NULL DEFAULT 0,
			successor  BLOB,
			rotated_at INTEGER,
			retries    INTEGER NOT NULL DEFAULT 0,
			superseded INTEGER NOT NULL DEFAULT 0,
			PRIMARY KEY (gkey, id)
		) WITHOUT ROWID`,
		`INSERT INTO "{p}tokens_4" (gkey, ` + tokenColumns4 + `)
			SELECT g.gkey, ` + prefixed("t.", tokenColumns4) + `
			FROM "{p}tokens" AS t JOIN "{p}grants" AS g ON g.grant_id = t.grant_id`,
		`DROP TABLE "{p}tokens"`,
		`ALTER TABLE "{p}tokens_4" RENAME TO "{p}tokens"`,
		`CREATE UNIQUE INDEX "{p}tokens_id" ON "{p}tokens" (id)`,
		`CREATE INDEX "{p}tokens_expires" ON "{p}tokens" (expires_at)`,
		`CREATE INDEX "{p}tokens_seq" ON "{p}tokens" (seq, check_sum, expires_at) WHERE seq > 0`,
	},
	// 5: a token's Token Status List entry (revoke.Record.Status), 0 and 0
	// for none: status_list holds the uint64 list number as the int64 of
	// the same bits, status_idx the uint32 index. The seq index takes them
	// too, so that RevokedSince still reads it alone.
	{
		`ALTER TABLE "{p}tokens" ADD COLUMN status_list INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE "{p}tokens" ADD COLUMN status_idx INTEGER NOT NULL DEFAULT 0`,
		`DROP INDEX "{p}tokens_seq"`,
		`CREATE INDEX "{p}tokens_seq" ON "{p}tokens" (seq, check_sum, expires_at, status_list, status_idx) WHERE seq > 0`,
	},
}

// prefixed returns the comma-separated columns with p before each.
func prefixed(p, columns string) string {
	cs := strings.Split(columns, ", ")
	for i, c := range cs {
		cs[i] = p + c
	}
	return strings.Join(cs, ", ")
}

// The meta table holds the schema version of the prefix's tables and the
// revocation sequence counter, one row each.
const (
	createMeta = `CREATE TABLE IF NOT EXISTS "{p}meta" (
		name  TEXT    NOT NULL PRIMARY KEY,
		value INTEGER NOT NULL
	) WITHOUT ROWID`
	metaExists = `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE`
	getVersion = `SELECT value FROM "{p}meta" WHERE name = 'schema_version'`
	setVersion = `INSERT INTO "{p}meta" (name, value) VALUES ('schema_version', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`
	// tokenColumns4 are the columns of a token of schema version 4, which
	// migration 4 copies.
	tokenColumns4 = `id, check_sum, kind, client_id, subject, parent, grant_id, expires_at, seq, successor, rotated_at, retries, superseded`
	tokenColumns  = tokenColumns4 + `, status_list, status_idx`
)

// queries are the statements of a Store, with its table prefix filled in.
// The parameters ?1 to ?15 of update, insert and their like are the
// columns of tokenColumns, in order (see row.args).
type queries struct {
	prefix        string
	update        string
	insert        string
	addOwners     string
	addGrant      string
	left          string
	dropGrant     string
	dropOwners    string
	keepGrant     string
	revokedSince  string
	expired       string
	scan          string
	nextSeq       string
	getSeq        string
	raiseSeq      string
	subjectGrants string
	clientGrants  string
}

// keyOf is the key of the grant of the token ?1 (see migration 4): the
// token's own row's, else the grant's row in grants, else that of the
// grant's first token (?7 is the grant), else one above every key in use.
const keyOf = `coalesce(
	(SELECT gkey FROM "{p}tokens" WHERE id = ?1),
	(SELECT gkey FROM "{p}grants" WHERE grant_id = ?7),
	(SELECT gkey FROM "{p}tokens" WHERE id = ?7 AND grant_id = ?7),
	(SELECT max((SELECT coalesce(max(gkey), 0) FROM "{p}tokens"), (SELECT coalesce(max(gkey), 0) FROM "{p}grants")) + 1))`

// assign returns "c = v" for each column c of columns, v being its
// parameter of row.args, or excluded.c with excluded set.
func assign(excluded bool, columns ...string) string {
	all := strings.Split(tokenColumns, ", ")
	set := make([]string, len(columns))
	for i, c := range columns {
		v := "?" + strconv.Itoa(slices.Index(all, c)+1)
		if excluded {
			v = "excluded." + c
		}
		set[i] = c + " = " + v
	}
	return strings.Join(set, ", ")
}

// recordColumns are the columns a Put may change: all but the key and
// the expiry, which update leaves alone, and with it the expiry index
// (SQLite rewrites the entries of the indexes over the columns an UPDATE
// sets, whether their values change or not).
var recordColumns = []string{"check_sum", "kind", "client_id", "subject", "parent", "seq", "successor",
	"rotated_at", "retries", "superseded", "status_list", "status_idx"}

// inList returns the parameters ?from to ?from+n-1, comma-separated.
func inList(from, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "?" + strconv.Itoa(from+i)
	}
	return strings.Join(ps, ", ")
}

// getQuery is Get's statement for n IDs: a search of the index on id for
// each.
func (q *queries) getQuery(n int) string {
	return q.fill(`SELECT ` + tokenColumns + ` FROM "{p}tokens" WHERE id IN (` + inList(1, n) + `)`)
}

// deleteQuery is Delete's statement for n IDs: it returns, of each row it
// removes, what keeping the grants and owners tables needs.
func (q *queries) deleteQuery(n int) string {
	return q.fill(`DELETE FROM "{p}tokens" WHERE id IN (` + inList(1, n) + `) RETURNING gkey, grant_id, id, client_id, subject`)
}

// revokeQuery is RevokeGrants' statement for n grants (?2 on; ?1 is the
// sequence number): the rows of each grant are a range of the primary
// key, that of the grant's key, found in grants or through the grant's
// first token. Only the seq column is set, and with it the seq index.
func (q *queries) revokeQuery(n int) string {
	in := inList(2, n)
	return q.fill(`UPDATE "{p}tokens" SET seq = ?1 WHERE seq = 0 AND gkey IN (
		SELECT gkey FROM "{p}grants" WHERE grant_id IN (` + in + `)
		UNION ALL SELECT gkey FROM "{p}tokens" WHERE id IN (` + in + `) AND grant_id = id)
		RETURNING id, check_sum, expires_at, seq, status_list, status_idx`)
}

func newQueries(prefix string) queries {
	q := queries{prefix: prefix}
	p := q.fill
	// update rewrites the row of ?1 in place when its expiry stays, the
	// usual case (a revocation, a rotation); insert adds a row, or
	// replaces it whatever changed.
	q.update = p(`UPDATE "{p}tokens" SET ` + assign(false, recordColumns...) + ` WHERE id = ?1 AND expires_at = ?8`)
	q.insert = p(`INSERT INTO "{p}tokens" (gkey, ` + tokenColumns + `) VALUES (` + keyOf + `, ` + inList(1, 15) + `)
		ON CONFLICT (gkey, id) DO UPDATE SET ` + assign(true, append(recordColumns, "expires_at")...))
	// addOwners adds the rows of the client ?1 and the subject ?2 of the
	// grant ?3, those missing: a row is added by the first token of a
	// grant, found by the others.
	q.addOwners = p(`INSERT INTO "{p}owners" (owner, key, grant_id)
		SELECT o, k, ?3 FROM (SELECT 2 AS o, ?1 AS k UNION ALL SELECT 1, ?2 WHERE ?2 != '') WHERE true
		ON CONFLICT DO NOTHING`)
	// addGrant records the key of the grant ?2 of the token ?1, which is
	// not its first, while the grant's first token is missing.
	q.addGrant = p(`INSERT INTO "{p}grants" (gkey, grant_id)
		SELECT gkey, grant_id FROM "{p}tokens" WHERE id = ?1 AND grant_id = ?2
		AND NOT EXISTS (SELECT 1 FROM "{p}tokens" WHERE id = ?2)
		ON CONFLICT DO NOTHING`)
	// left reports whether a token of the grant key ?1 is left; dropGrant,
	// dropOwners and keepGrant keep grants and owners in step once one is
	// removed.
	q.left = p(`SELECT EXISTS (SELECT 1 FROM "{p}tokens" WHERE gkey = ?1)`)
	q.dropGrant = p(`DELETE FROM "{p}grants" WHERE gkey = ?1`)
	q.dropOwners = p(`DELETE FROM "{p}owners" WHERE (owner, key, grant_id) IN (VALUES (2, ?1, ?3), (1, ?2, ?3))`)
	q.keepGrant = p(`INSERT INTO "{p}grants" (gkey, grant_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING`)
	// "seq > 0" matches the partial index's condition, so SQLite can use
	// the index whatever the bound value.
	q.revokedSince = p(`SELECT id, check_sum, expires_at, seq, status_list, status_idx FROM "{p}tokens" WHERE seq > 0 AND seq > ? ORDER BY seq`)
	q.expired = p(`SELECT id FROM "{p}tokens" WHERE expires_at < ? LIMIT ?`)
	// A range of the unique index on id, which holds every token, in ID
	// order.
	q.scan = p(`SELECT ` + tokenColumns + ` FROM "{p}tokens" WHERE id > ? ORDER BY id LIMIT ?`)
	// The sequence counter, moved by the write-locked transaction itself.
	q.nextSeq = p(`UPDATE "{p}meta" SET value = value + 1 WHERE name = 'seq' AND value >= 0 AND value < 9223372036854775807 RETURNING value`)
	q.getSeq = p(`SELECT value FROM "{p}meta" WHERE name = 'seq'`)
	q.raiseSeq = p(`UPDATE "{p}meta" SET value = ?1 WHERE name = 'seq' AND value < ?1`)
	// A range of the owners table's primary key.
	q.subjectGrants = p(`SELECT grant_id FROM "{p}owners" WHERE owner = 1 AND key = ? AND grant_id > ? ORDER BY grant_id LIMIT ?`)
	q.clientGrants = p(`SELECT grant_id FROM "{p}owners" WHERE owner = 2 AND key = ? AND grant_id > ? ORDER BY grant_id LIMIT ?`)
	return q
}

// fill puts the prefix into a schema statement.
func (q *queries) fill(stmt string) string { return strings.ReplaceAll(stmt, "{p}", q.prefix) }

// migrate brings the prefix's tables to schemaVersion. It first reads the
// version without taking the write lock, so that a database already up to
// date opens even when it is read-only; if a migration is due it takes the
// write lock (BEGIN IMMEDIATE), reads the version again, since another
// process may have migrated meanwhile, and migrates in that one transaction.
func (s *Store) migrate(ctx context.Context) error {
	c, err := s.acquire(ctx, !s.opts.readOnly)
	if err != nil {
		return wrapf(err, "%s: connecting", s.name)
	}
	defer c.release()

	v, err := s.version(ctx, c.conn)
	if err != nil || v == schemaVersion {
		return err
	}
	if s.opts.readOnly {
		return s.notMigrated(v)
	}
	// A migration is due.
	if _, err := c.conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return wrapf(err, "%s: migrating tables of prefix %q", s.name, s.q.prefix)
	}
	err = s.migrateLocked(ctx, c.conn)
	if err == nil {
		_, err = c.conn.ExecContext(context.Background(), "COMMIT")
		if err != nil {
			err = wrapf(err, "%s: migrating tables of prefix %q: commit", s.name, s.q.prefix)
		}
	}
	if err != nil {
		if _, rerr := c.conn.ExecContext(context.Background(), "ROLLBACK"); rerr != nil {
			c.discard()
		}
		return err
	}
	return nil
}

// notMigrated is the error of a read-only Store (WithReadOnly) over tables
// at version v, below schemaVersion: 0 when they do not exist.
func (s *Store) notMigrated(v int) error {
	if v == 0 {
		return fmt.Errorf("%w: %s: no tables of prefix %q, and a read-only Store creates none (%w)", ErrNotMigrated, s.name, s.q.prefix, ErrReadOnly)
	}
	return fmt.Errorf("%w: %s: the tables of prefix %q are at schema version %d, this package reads version %d, and a read-only Store migrates nothing (%w)",
		ErrNotMigrated, s.name, s.q.prefix, v, schemaVersion, ErrReadOnly)
}

// migrateLocked migrates inside the write transaction.
func (s *Store) migrateLocked(ctx context.Context, conn *sqlx.Conn) error {
	if _, err := conn.ExecContext(ctx, s.q.fill(createMeta)); err != nil {
		return wrapf(err, "%s: creating table %smeta", s.name, s.q.prefix)
	}
	v, err := s.version(ctx, conn)
	if err != nil {
		return err
	}
	for ; v < schemaVersion; v++ {
		for _, stmt := range migrations[v] {
			if _, err := conn.ExecContext(ctx, s.q.fill(stmt)); err != nil {
				return wrapf(err, "%s: migrating tables of prefix %q to version %d", s.name, s.q.prefix, v+1)
			}
		}
	}
	if _, err := conn.ExecContext(ctx, s.q.fill(setVersion), schemaVersion); err != nil {
		return wrapf(err, "%s: recording schema version of prefix %q", s.name, s.q.prefix)
	}
	return nil
}

// version reads the schema version of the prefix's tables: 0 when they do
// not exist yet.
func (s *Store) version(ctx context.Context, conn *sqlx.Conn) (int, error) {
	var n int
	name := s.q.prefix + "meta"
	if err := conn.GetContext(ctx, &n, metaExists, name); err != nil {
		return 0, wrapf(err, "%s: reading the schema", s.name)
	}
	if n == 0 {
		return 0, nil
	}
	var v int64
	err := conn.GetContext(ctx, &v, s.q.fill(getVersion))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, wrapf(err, "%s: reading schema version from table %s", s.name, name)
	case v < 0:
		return 0, fmt.Errorf("%w: %s: table %s holds schema version %d", ErrCorrupt, s.name, name, v)
	case v > int64(schemaVersion):
		return 0, fmt.Errorf("%w: %s: tables of prefix %q are at version %d, this package knows versions up to %d", ErrVersion, s.name, s.q.prefix, v, schemaVersion)
	}
	return int(v), nil
}
