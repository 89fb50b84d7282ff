package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
	// rowColumns are the columns of a row: its key's gkey, then the
	// columns of the record.
	rowColumns = `gkey, ` + tokenColumns
)

// queries are the statements of a Store, with its table prefix filled in.
type queries struct {
	prefix        string
	get           string
	locate        string
	put           string
	putAll        string
	delKey        string
	grant         string
	revokedSince  string
	expired       string
	getSeq        string
	setSeq        string
	subjectGrants string
	clientGrants  string
	ownerAdd      string
	dropSubject   string
	dropClient    string
	grantKey      string
	nextKey       string
	rootKey       string
	newGrant      string
	keepGrant     string
	dropGrant     string
	setSeqKey     string // SetSeq's (see setSeqQueries)
	setSeqID      string
}

// nextKeyOf is one above every key in use.
const nextKeyOf = `SELECT max((SELECT coalesce(max(gkey), 0) FROM "{p}tokens"), (SELECT coalesce(max(gkey), 0) FROM "{p}grants")) + 1`

// grantKeyOf is the key of the grant ?1 (see queries.grantKey).
const grantKeyOf = `SELECT gkey FROM "{p}grants" WHERE grant_id = ?1
	UNION ALL SELECT gkey FROM "{p}tokens" WHERE id = ?1 AND grant_id = ?1
	LIMIT 1`

// upsert is the INSERT of a row that replaces the row with its key
// (gkey, id), setting the columns listed. Its parameters are the columns
// of rowColumns, in order (see row.args).
func upsert(set ...string) string {
	for i, c := range set {
		set[i] = c + " = excluded." + c
	}
	return `INSERT INTO "{p}tokens" (` + rowColumns + `)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (gkey, id) DO UPDATE SET ` + strings.Join(set, ", ")
}

func newQueries(prefix string) queries {
	p := func(q string) string { return strings.ReplaceAll(q, "{p}", prefix) }
	setSeqKey, setSeqID := setSeqQueries(p)
	return queries{
		setSeqKey: setSeqKey,
		setSeqID:  setSeqID,
		prefix:    prefix,
		// The row of an ID, through the unique index on id.
		get: p(`SELECT ` + rowColumns + ` FROM "{p}tokens" WHERE id = ?`),
		// get for the key, expiry and owners only, which Put needs.
		locate: p(`SELECT gkey, grant_id, expires_at, client_id, subject FROM "{p}tokens" WHERE id = ?`),
		// put leaves expires_at, client_id and subject alone when it
		// replaces a row, and with them the expiry, client and subject
		// indexes: SQLite rewrites the entries of the indexes over the
		// columns an UPDATE sets, whether their values change or not. A
		// revocation or a rotation so writes the row and its seq index
		// entry only. Put uses putAll when one of them changes.
		put: p(upsert("check_sum", "kind", "parent", "seq", "successor", "rotated_at", "retries", "superseded",
			"status_list", "status_idx")),
		putAll: p(upsert("check_sum", "kind", "client_id", "subject", "parent", "expires_at", "seq",
			"successor", "rotated_at", "retries", "superseded", "status_list", "status_idx")),
		// delKey removes the row with the key (gkey, id).
		delKey: p(`DELETE FROM "{p}tokens" WHERE gkey = ? AND id = ?`),
		// A range of the primary key, that of the grant's key.
		grant: p(`SELECT ` + rowColumns + ` FROM "{p}tokens" WHERE gkey = (` + grantKeyOf + `)`),
		// "seq > 0" matches the partial index's condition, so SQLite can
		// use the index whatever the bound value.
		revokedSince: p(`SELECT id, check_sum, expires_at, seq, status_list, status_idx FROM "{p}tokens" WHERE seq > 0 AND seq > ? ORDER BY seq`),
		expired:      p(`SELECT ` + rowColumns + ` FROM "{p}tokens" WHERE expires_at < ? LIMIT ?`),
		getSeq:       p(`SELECT value FROM "{p}meta" WHERE name = 'seq'`),
		setSeq:       p(`UPDATE "{p}meta" SET value = ? WHERE name = 'seq'`),
		// A range of the owners table's primary key.
		subjectGrants: p(`SELECT grant_id FROM "{p}owners" WHERE owner = 1 AND key = ? AND grant_id > ? ORDER BY grant_id LIMIT ?`),
		clientGrants:  p(`SELECT grant_id FROM "{p}owners" WHERE owner = 2 AND key = ? AND grant_id > ? ORDER BY grant_id LIMIT ?`),
		// ownerAdd adds the row of an owner of a grant, if missing.
		ownerAdd: p(`INSERT INTO "{p}owners" (owner, key, grant_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`),
		// dropSubject and dropClient remove the row of a subject or client
		// of a grant (?1, ?2) unless a token of the grant (key ?3) still
		// has it: a range of the primary key of tokens.
		dropSubject: p(`DELETE FROM "{p}owners" WHERE owner = 1 AND key = ?1 AND grant_id = ?2
			AND NOT EXISTS (SELECT 1 FROM "{p}tokens" WHERE gkey = ?3 AND subject = ?1)`),
		dropClient: p(`DELETE FROM "{p}owners" WHERE owner = 2 AND key = ?1 AND grant_id = ?2
			AND NOT EXISTS (SELECT 1 FROM "{p}tokens" WHERE gkey = ?3 AND client_id = ?1)`),
		// grantKey reads the key of a grant: its grants row, or the key of
		// its first token, if that token is in the grant. nextKey is one
		// above the greatest key in use; newGrant records the key of a
		// grant whose first token is not among its tokens, and keepGrant
		// that of a grant whose first token goes (?2) while others stay.
		grantKey: p(grantKeyOf),
		nextKey:  p(nextKeyOf),
		// rootKey is the key of the grant a new first token starts: the
		// grant's row, if the grant lost its first token earlier, else the
		// next key. (grantKey's second part, the token itself, is known
		// absent.) One statement where grantKey and nextKey are two, for
		// the Issue of every refresh token.
		rootKey:   p(`SELECT coalesce((SELECT gkey FROM "{p}grants" WHERE grant_id = ?1), (` + nextKeyOf + `))`),
		newGrant:  p(`INSERT INTO "{p}grants" (gkey, grant_id) VALUES (?, ?)`),
		keepGrant: p(`INSERT INTO "{p}grants" (gkey, grant_id) SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM "{p}tokens" WHERE gkey = ?1) ON CONFLICT DO NOTHING`),
		dropGrant: p(`DELETE FROM "{p}grants" WHERE gkey = ?1 AND NOT EXISTS (SELECT 1 FROM "{p}tokens" WHERE gkey = ?1)`),
	}
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
