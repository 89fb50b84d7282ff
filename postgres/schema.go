package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/revoke"
)

// schemaVersion is the version of the tables this package creates and
// reads. Versions 1 and 2 predate the first release: tables at them are
// refused, not migrated.
const schemaVersion = 3

// SchemaVersion returns the version of the tables this package creates and
// reads (operators' tools report it beside the store).
func SchemaVersion() int { return schemaVersion }

// createTables makes the tables of a prefix at schemaVersion. "{t}", "{o}"
// and "{m}" stand for the qualified names of the tokens, owners and meta
// tables, "{p}" for the prefix (in index names, which live in the tables'
// schema).
var createTables = []string{
	// The schema version and the revocation sequence counter, one row each.
	`CREATE TABLE {m} (
		name  text   NOT NULL PRIMARY KEY,
		value bigint NOT NULL
	)`,
	`INSERT INTO {m} (name, value) VALUES ('seq', 0), ('schema_version', ` + strconv.Itoa(schemaVersion) + `)`,
	// Keyed by (grant_id, id): a grant's records are one range of the
	// primary key, which RevokeGrants reads. Times are nanoseconds since
	// 1970; uint32 values are bigints; status_list holds the bits of the
	// uint64 Status List number (see row for NULLs).
	`CREATE TABLE {t} (
		grant_id    bytea    NOT NULL CHECK (octet_length(grant_id) = 32),
		id          bytea    NOT NULL CHECK (octet_length(id) = 32),
		check_sum   bigint   NOT NULL,
		kind        smallint NOT NULL,
		client_id   text     NOT NULL,
		subject     text     NOT NULL DEFAULT '',
		parent      bytea    CHECK (octet_length(parent) = 32),
		expires_at  bigint   NOT NULL,
		seq         bigint   NOT NULL DEFAULT 0,
		successor   bytea    CHECK (octet_length(successor) = 32),
		rotated_at  bigint,
		retries     bigint   NOT NULL DEFAULT 0,
		superseded  boolean  NOT NULL DEFAULT false,
		status_list bigint   NOT NULL DEFAULT 0,
		status_idx  bigint   NOT NULL DEFAULT 0,
		PRIMARY KEY (grant_id, id)
	)`,
	// Get, Put and Delete find a record by ID here.
	`CREATE UNIQUE INDEX "{p}tokens_id" ON {t} (id)`,
	`CREATE INDEX "{p}tokens_expires" ON {t} (expires_at)`,
	// Covering for RevokedSince: the start-up load reads the index alone.
	`CREATE INDEX "{p}tokens_seq" ON {t} (seq) INCLUDE (id, check_sum, expires_at, status_list, status_idx) WHERE seq > 0`,
	// One row per grant and owner (1 subject, 2 client: revoke.Owner),
	// which GrantsOf reads a range of, its key compared byte for byte;
	// grants without a subject have no subject row.
	`CREATE TABLE {o} (
		owner    smallint NOT NULL,
		key      text COLLATE "C" NOT NULL,
		grant_id bytea    NOT NULL CHECK (octet_length(grant_id) = 32),
		PRIMARY KEY (owner, key, grant_id)
	)`,
}

// create makes the prefix's tables, and their schema, unless they exist.
// Existing tables need no lock nor any privilege but reading; missing ones
// are created under the Store's advisory lock, after reading the version
// again: of two processes opening at once, the second finds them made.
func (s *Store) create(ctx context.Context) error {
	c, err := s.db.Connx(ctx)
	if err != nil {
		return wrapf(err, "connecting")
	}
	defer c.Close()
	if exists, err := s.version(ctx, c); err != nil || exists {
		return err
	}
	if s.opts.readOnly {
		return fmt.Errorf("%w: prefix %q in schema %q", ErrNotMigrated, s.q.prefix, s.q.schema)
	}
	if _, err := c.ExecContext(ctx, s.beginCreate); err != nil {
		s.abort(ctx, c)
		return wrapf(err, "creating the tables of prefix %q: taking the lock", s.q.prefix)
	}
	if err := s.createLocked(ctx, c); err != nil {
		s.abort(ctx, c)
		return err
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		discard(c)
		return wrapf(err, "creating the tables of prefix %q: commit", s.q.prefix)
	}
	return nil
}

func (s *Store) createLocked(ctx context.Context, c *sqlx.Conn) error {
	var exists bool
	// CREATE SCHEMA IF NOT EXISTS needs a privilege even when it exists.
	if err := c.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, s.q.schema); err != nil {
		return wrapf(err, "reading the schemas")
	}
	if !exists {
		if _, err := c.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+quote(s.q.schema)); err != nil {
			return wrapf(err, "creating schema %q", s.q.schema)
		}
	}
	if exists, err := s.version(ctx, c); err != nil || exists {
		return err
	}
	for _, stmt := range createTables {
		if _, err := c.ExecContext(ctx, s.q.fill(stmt)); err != nil {
			return wrapf(err, "creating the tables of prefix %q", s.q.prefix)
		}
	}
	return nil
}

// version reports whether the prefix's tables exist, and an error unless
// they are at schemaVersion.
func (s *Store) version(ctx context.Context, c *sqlx.Conn) (exists bool, err error) {
	if err := c.GetContext(ctx, &exists, `SELECT to_regclass($1) IS NOT NULL`, s.q.meta); err != nil {
		return false, wrapf(err, "reading the schema")
	}
	if !exists {
		return false, nil
	}
	var v int64
	err = c.GetContext(ctx, &v, s.q.fill(`SELECT value FROM {m} WHERE name = 'schema_version'`))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return true, corrupt("table %s holds no schema version", s.q.meta)
	case err != nil:
		return true, wrapf(err, "reading the schema version from table %s", s.q.meta)
	case v > schemaVersion:
		return true, fmt.Errorf("postgres: the tables of prefix %q are at schema version %d, newer than this package's %d: %w", s.q.prefix, v, schemaVersion, revoke.ErrVersion)
	case v == 1 || v == 2:
		return true, fmt.Errorf("postgres: the tables of prefix %q are at schema version %d, which predates the first release and is not migrated: this package reads version %d only; drop and recreate them: %w",
			s.q.prefix, v, schemaVersion, revoke.ErrVersion)
	case v != schemaVersion:
		return true, corrupt("table %s holds schema version %d", s.q.meta, v)
	}
	return true, nil
}

// queries are the statements of a Store, with its table names filled in.
type queries struct {
	schema, prefix       string
	tokens, owners, meta string // qualified, quoted names

	getMany, put, del, revokeGrants string
	grantsOf, readSeq, claimSeq     string
	revokedSince                    string
	expired, scan                   string

	// The grant locks (see "Concurrency" in the package documentation):
	// of the grants of records by ID, and of grants by ID, waiting for
	// them or only trying.
	lockGrantsOf, lockGrants, tryLockGrantsOf, tryLockGrants string
}

func quote(name string) string { return `"` + name + `"` }

func newQueries(schema, prefix string) queries {
	q := queries{
		schema: schema,
		prefix: prefix,
		tokens: quote(schema) + "." + quote(prefix+"tokens"),
		owners: quote(schema) + "." + quote(prefix+"owners"),
		meta:   quote(schema) + "." + quote(prefix+"meta"),
	}
	q.getMany = q.fill(`SELECT ` + tokenColumns + ` FROM {t} WHERE id = ANY($1::bytea[])`)
	// A grant's lock is the advisory lock (ns, key), ns from the schema and
	// prefix, key the grant's first 4 bytes: grants that share a key share
	// a lock, which costs a wait and never a wrong answer. Each statement
	// takes its locks in the order of their keys.
	ns := strconv.FormatInt(lockKey(schema, prefix)>>32, 10)
	key := func(col string) string { return `('x' || encode(substr(` + col + `, 1, 4), 'hex'))::bit(32)::int4` }
	// The first statement of a transaction that takes grant locks waits
	// for them; a later one only tries them (see "Concurrency" in the
	// package documentation): each row says whether the lock was taken.
	of := `FROM (SELECT DISTINCT grant_id AS g, ` + key("grant_id") + ` AS k FROM {t} WHERE id = ANY($1::bytea[]) ORDER BY k) AS s`
	byID := `FROM (SELECT DISTINCT ` + key("g") + ` AS k FROM unnest($1::bytea[]) AS u(g) ORDER BY k) AS s`
	q.lockGrantsOf = q.fill(`SELECT g, pg_advisory_xact_lock(` + ns + `, k) IS NULL ` + of)
	q.tryLockGrantsOf = q.fill(`SELECT g, pg_try_advisory_xact_lock(` + ns + `, k) ` + of)
	q.lockGrants = `SELECT pg_advisory_xact_lock(` + ns + `, k) IS NULL ` + byID
	q.tryLockGrants = `SELECT pg_try_advisory_xact_lock(` + ns + `, k) ` + byID
	// A record keeps its grant and owners (see revoke.Store): a
	// replacement leaves them, and the primary key, as they are.
	set := make([]string, 0, 11)
	for _, c := range strings.Split(tokenColumns, ", ") {
		if c != "id" && c != "grant_id" && c != "client_id" && c != "subject" {
			set = append(set, c+" = excluded."+c)
		}
	}
	// The records, the owner rows their grants lack, and the counter
	// raised to the highest Seq put that the transaction did not draw
	// ($16, an import's: 0 for none): a data-modifying WITH runs to completion whatever the main
	// statement reads of it. The records marked fresh ($17) are inserted
	// only: one that another transaction inserted meanwhile fails the
	// statement on the unique index on id.
	q.put = q.fill(`WITH recs AS (
			SELECT * FROM unnest(` + tokenTypes + `, $17::boolean[]) AS u(` + tokenColumns + `, fresh)
		), ins AS (
			INSERT INTO {t} (` + tokenColumns + `) SELECT ` + tokenColumns + ` FROM recs WHERE fresh
		), put AS (
			INSERT INTO {t} (` + tokenColumns + `) SELECT ` + tokenColumns + ` FROM recs WHERE NOT fresh
			ON CONFLICT (id) DO UPDATE SET ` + strings.Join(set, ", ") + `
		), raise AS (
			UPDATE {m} SET value = $16::bigint WHERE name = 'seq' AND value < $16::bigint
		)
		INSERT INTO {o} (owner, key, grant_id)
		SELECT DISTINCT v.owner, v.key, u.grant_id FROM unnest($4::text[], $5::text[], $7::bytea[]) AS u(client_id, subject, grant_id),
			LATERAL (VALUES (1::smallint, u.subject COLLATE "C"), (2::smallint, u.client_id COLLATE "C")) AS v(owner, key)
		WHERE v.owner = 2 OR v.key <> ''
		ON CONFLICT (owner, key, grant_id) DO NOTHING`)
	// The records, and the owner rows of the grants left without one: the
	// main statement sees the table as it was before the WITH's DELETE,
	// hence "NOT IN", which PostgreSQL hashes.
	q.del = q.fill(`WITH del AS (
			DELETE FROM {t} WHERE id = ANY($1::bytea[]) RETURNING id, grant_id, client_id, subject
		)
		DELETE FROM {o} o USING (
			SELECT DISTINCT v.owner, v.key, d.grant_id FROM del d,
				LATERAL (VALUES (1::smallint, d.subject COLLATE "C"), (2::smallint, d.client_id COLLATE "C")) AS v(owner, key)
		) AS g
		WHERE o.owner = g.owner AND o.key = g.key AND o.grant_id = g.grant_id
			AND NOT EXISTS (SELECT 1 FROM {t} t WHERE t.grant_id = g.grant_id AND t.id NOT IN (SELECT id FROM del))`)
	q.revokeGrants = q.fill(`UPDATE {t} SET seq = $1 WHERE grant_id = ANY($2::bytea[]) AND seq = 0
		RETURNING id, check_sum, expires_at, seq, status_list, status_idx`)
	q.grantsOf = q.fill(`SELECT grant_id FROM {o} WHERE owner = $1 AND key = $2 AND grant_id > $3 ORDER BY grant_id LIMIT $4`)
	q.readSeq = q.fill(`SELECT value FROM {m} WHERE name = 'seq'`)
	// The commit's claim of the numbers a transaction drew: the counter
	// moves from $1, as the transaction read it, to $2, or the statement
	// fails (a division by zero: no row matched) and the transaction with
	// it. Its row lock is held from this statement to the COMMIT sent with
	// it.
	q.claimSeq = q.fill(`WITH claim AS (
			UPDATE {m} SET value = $2::bigint WHERE name = 'seq' AND value = $1::bigint RETURNING 1
		) SELECT 1 / count(*) FROM claim`)
	// "seq > 0" matches the partial index's condition whatever the bound
	// value.
	q.revokedSince = q.fill(`SELECT id, check_sum, expires_at, seq, status_list, status_idx FROM {t} WHERE seq > 0 AND seq > $1 ORDER BY seq`)
	q.expired = q.fill(`SELECT id FROM {t} WHERE expires_at < $1 LIMIT $2`)
	q.scan = q.fill(`SELECT ` + tokenColumns + ` FROM {t} WHERE id > $1 ORDER BY id LIMIT $2`)
	return q
}

// fill puts the table names into a statement.
func (q *queries) fill(stmt string) string {
	return strings.NewReplacer("{t}", q.tokens, "{o}", q.owners, "{m}", q.meta, "{p}", q.prefix).Replace(stmt)
}

// lockKey is the key of the advisory lock that table creation holds, one
// per schema and prefix; its high 32 bits name the grant locks of the
// schema and prefix.
func lockKey(schema, prefix string) int64 {
	h := sha256.Sum256([]byte("github.com/sdkauth/revocation/postgres\x00" + schema + "\x00" + prefix))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// channelName is the NOTIFY channel of the Store's tables: a digest, since
// a channel name, like any identifier, is limited to 63 bytes.
func channelName(schema, prefix string) string {
	h := sha256.Sum256([]byte("github.com/sdkauth/revocation/postgres/feed\x00" + schema + "\x00" + prefix))
	return "revoke_" + hex.EncodeToString(h[:12])
}
