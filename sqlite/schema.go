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
	"github.com/sdkauth/revocation/revoke"
)

// schemaVersion is the version of the tables this package writes;
// versions 1 to 4 predate the first release and are refused.
const schemaVersion = 5

// SchemaVersion returns the version of the tables this package writes,
// that of every open Store's tables.
func SchemaVersion() int { return schemaVersion }

// createTables makes the tables of a prefix ("{p}"), in the transaction
// that records the version. The index on seq covers the revocations, so
// that RevokedSince reads it alone.
var createTables = []string{
	`CREATE TABLE "{p}tokens" (
		gkey INTEGER NOT NULL, id BLOB NOT NULL, grant_id BLOB NOT NULL,
		check_sum INTEGER NOT NULL, kind INTEGER NOT NULL,
		client_id TEXT NOT NULL, subject TEXT NOT NULL DEFAULT '', parent BLOB,
		expires_at INTEGER NOT NULL, seq INTEGER NOT NULL DEFAULT 0,
		successor BLOB, rotated_at INTEGER, -- NULL: never rotated
		retries INTEGER NOT NULL DEFAULT 0, superseded INTEGER NOT NULL DEFAULT 0,
		status_list INTEGER NOT NULL DEFAULT 0, status_idx INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (gkey, id)
	) WITHOUT ROWID`,
	`CREATE UNIQUE INDEX "{p}tokens_id" ON "{p}tokens" (id)`,
	`CREATE INDEX "{p}tokens_expires" ON "{p}tokens" (expires_at)`,
	`CREATE INDEX "{p}tokens_seq" ON "{p}tokens" (seq, check_sum, expires_at, status_list, status_idx) WHERE seq > 0`,
	`CREATE TABLE "{p}grants" (gkey INTEGER PRIMARY KEY, grant_id BLOB NOT NULL)`,
	`CREATE UNIQUE INDEX "{p}grants_id" ON "{p}grants" (grant_id)`,
	`CREATE TABLE "{p}owners" (
		owner INTEGER NOT NULL, key TEXT NOT NULL, grant_id BLOB NOT NULL,
		PRIMARY KEY (owner, key, grant_id)
	) WITHOUT ROWID`,
	`INSERT INTO "{p}meta" (name, value) VALUES ('seq', 0), ('schema_version', ` + strconv.Itoa(schemaVersion) + `)`,
}

const (
	createMeta = `CREATE TABLE IF NOT EXISTS "{p}meta" (
		name  TEXT    NOT NULL PRIMARY KEY,
		value INTEGER NOT NULL
	) WITHOUT ROWID`
	metaExists   = `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE`
	getVersion   = `SELECT value FROM "{p}meta" WHERE name = 'schema_version'`
	tokenColumns = `id, check_sum, kind, client_id, subject, parent, grant_id, expires_at, seq, successor, rotated_at, retries, superseded, status_list, status_idx`
)

// queries are the statements of a Store, with its table prefix filled in.
// The parameters ?1 to ?15 of update and insert are the columns of
// tokenColumns, in order (see argsOf).
type queries struct {
	prefix, update, insert, addOwners, addGrant string
	left, dropGrant, dropOwners, keepGrant      string
	revokedSince, expired, scan, grantsOf       string
	nextSeq, getSeq, raiseSeq                   string
}

// keyOf is the key of the grant of the token ?1 (see createTables): the
// token's own row's, else the grant's row in grants, else that of the
// grant's first token (?7 is the grant), else one above every key in use.
const keyOf = `coalesce(
	(SELECT gkey FROM "{p}tokens" WHERE id = ?1),
	(SELECT gkey FROM "{p}grants" WHERE grant_id = ?7),
	(SELECT gkey FROM "{p}tokens" WHERE id = ?7 AND grant_id = ?7),
	(SELECT max((SELECT coalesce(max(gkey), 0) FROM "{p}tokens"), (SELECT coalesce(max(gkey), 0) FROM "{p}grants")) + 1))`

// assign returns "c = v" for each column c of columns, v being its
// parameter of argsOf, or excluded.c with excluded set.
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

// recordColumns are the columns update sets: all but the key and the
// expiry, so that SQLite leaves the expiry index alone.
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

// getQuery is Get's statement for n IDs.
func (q *queries) getQuery(n int) string {
	return q.fill(`SELECT ` + tokenColumns + ` FROM "{p}tokens" WHERE id IN (` + inList(1, n) + `)`)
}

// deleteQuery is Delete's statement for n IDs: it returns what keeping
// the grants and owners tables needs.
func (q *queries) deleteQuery(n int) string {
	return q.fill(`DELETE FROM "{p}tokens" WHERE id IN (` + inList(1, n) + `) RETURNING gkey, grant_id, id, client_id, subject`)
}

// revokeQuery is RevokeGrants' statement for n grants (?2 on; ?1 is the
// sequence number): a range of the primary key per grant, whose key is
// found in grants or through the grant's first token.
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
	// "seq > 0" is the partial index's condition, so that SQLite uses it.
	q.revokedSince = p(`SELECT id, check_sum, expires_at, seq, status_list, status_idx FROM "{p}tokens" WHERE seq > 0 AND seq > ? ORDER BY seq`)
	q.expired = p(`SELECT id FROM "{p}tokens" WHERE expires_at < ? LIMIT ?`)
	q.scan = p(`SELECT ` + tokenColumns + ` FROM "{p}tokens" WHERE id > ? ORDER BY id LIMIT ?`)
	q.nextSeq = p(`UPDATE "{p}meta" SET value = value + 1 WHERE name = 'seq' AND value >= 0 AND value < 9223372036854775807 RETURNING value`)
	q.getSeq = p(`SELECT value FROM "{p}meta" WHERE name = 'seq'`)
	q.raiseSeq = p(`UPDATE "{p}meta" SET value = ?1 WHERE name = 'seq' AND value < ?1`)
	// owner is that of revoke.Owner: 1 for the subject, 2 for the client.
	q.grantsOf = p(`SELECT grant_id FROM "{p}owners" WHERE owner = ? AND key = ? AND grant_id > ? ORDER BY grant_id LIMIT ?`)
	return q
}

// fill puts the prefix into a schema statement.
func (q *queries) fill(stmt string) string { return strings.ReplaceAll(stmt, "{p}", q.prefix) }

// create makes the prefix's tables if they do not exist. It reads the
// version in a read transaction first, so that a database set up already
// opens read-only; else, under the write lock, it reads it again (another
// process may have been first) and creates the tables.
func (s *Store) create(ctx context.Context) error {
	var v int
	err := s.run(ctx, false, func(t revoke.Tx) (err error) {
		v, err = s.version(ctx, t.(*tx).conn)
		return err
	})
	switch {
	case err != nil || v == schemaVersion:
		return err
	case s.opts.readOnly:
		return fmt.Errorf("%w: %s: no tables of prefix %q", ErrNotMigrated, s.name, s.q.prefix)
	}
	return s.run(ctx, true, func(t revoke.Tx) error {
		conn := t.(*tx).conn
		if _, err := conn.ExecContext(ctx, s.q.fill(createMeta)); err != nil {
			return wrapf(err, "%s: creating table %smeta", s.name, s.q.prefix)
		}
		if v, err := s.version(ctx, conn); err != nil || v == schemaVersion {
			return err
		}
		for _, stmt := range createTables {
			_, err := conn.ExecContext(ctx, s.q.fill(stmt))
			if isSQLError(err) {
				return fmt.Errorf("%w: %s: creating the tables of prefix %q, over tables that are not this package's: %w", errCorrupt, s.name, s.q.prefix, err)
			}
			if err != nil {
				return wrapf(err, "%s: creating the tables of prefix %q", s.name, s.q.prefix)
			}
		}
		return nil
	})
}

// version reads the schema version of the prefix's tables: 0 when they do
// not exist yet. Tables of another version than schemaVersion are refused
// with revoke.ErrVersion.
func (s *Store) version(ctx context.Context, conn *sqlx.Conn) (int, error) {
	var n int
	name := s.q.prefix + "meta"
	if err := conn.GetContext(ctx, &n, metaExists, name); err != nil {
		return 0, wrapf(err, "%s: reading the schema", s.name)
	}
	if n == 0 {
		return 0, nil
	}
	var raw any // an int64 in the Store's table
	err := conn.GetContext(ctx, &raw, s.q.fill(getVersion))
	v, ok := raw.(int64)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case isSQLError(err):
		return 0, fmt.Errorf("%w: %s: table %s is not this package's: %w", errCorrupt, s.name, name, err)
	case err != nil:
		return 0, wrapf(err, "%s: reading schema version from table %s", s.name, name)
	case !ok || v < 0:
		return 0, fmt.Errorf("%w: %s: table %s holds schema version %#v", errCorrupt, s.name, name, raw)
	case v > schemaVersion:
		return 0, fmt.Errorf("%w: %s: tables of prefix %q are at version %d, newer than this package's %d", errVersion, s.name, s.q.prefix, v, schemaVersion)
	case v > 0 && v < schemaVersion:
		return 0, fmt.Errorf("%w: %s: tables of prefix %q are at version %d, which predates the first release and is not migrated: this package reads version %d only; recreate the tables", errVersion, s.name, s.q.prefix, v, schemaVersion)
	}
	return int(v), nil
}
