package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// schemaVersion is the version of the tables this package writes: the
// number of migrations.
var schemaVersion = len(migrations)

// migrations[i] takes the tables of a prefix from version i to i+1. "{t}",
// "{o}" and "{m}" stand for the qualified names of the tokens, owners and
// meta tables, "{p}" for the prefix (in index names, which live in the
// tables' schema), "{s}" for the quoted schema. Each runs in the transaction that records the new version, under the
// Store's advisory lock, so a migration is applied entirely or not at all,
// and once however many processes start at the same time.
var migrations = [][]string{
	// 1: the tokens table and its indexes, and the sequence counter.
	{
		// Keyed by (grant_id, id): the members of a grant are one range of
		// the primary key, which RevokeGrants reads. IDs are SHA-256 digests of the
		// raw tokens; times are nanoseconds since 1970, kept exactly.
		// successor, rotated_at, retries and superseded are the rotation
		// state of a refresh token (successor and rotated_at NULL while
		// it was never rotated); retries is a uint32, hence bigint.
		`CREATE TABLE {t} (
			grant_id   bytea    NOT NULL CHECK (octet_length(grant_id) = 32),
			id         bytea    NOT NULL CHECK (octet_length(id) = 32),
			check_sum  bigint   NOT NULL,
			kind       smallint NOT NULL,
			client_id  text     NOT NULL,
			subject    text     NOT NULL DEFAULT '',
			parent     bytea    CHECK (octet_length(parent) = 32),
			expires_at bigint   NOT NULL,
			seq        bigint   NOT NULL DEFAULT 0,
			successor  bytea    CHECK (octet_length(successor) = 32),
			rotated_at bigint,
			retries    bigint   NOT NULL DEFAULT 0,
			superseded boolean  NOT NULL DEFAULT false,
			PRIMARY KEY (grant_id, id)
		)`,
		// Get, Put and Delete find a record by ID here, and no two records
		// share an ID.
		`CREATE UNIQUE INDEX "{p}tokens_id" ON {t} (id)`,
		`CREATE INDEX "{p}tokens_expires" ON {t} (expires_at)`,
		// Covering for RevokedSince: the start-up load can read the index
		// alone.
		`CREATE INDEX "{p}tokens_seq" ON {t} (seq) INCLUDE (id, check_sum, expires_at) WHERE seq > 0`,
		// The grants of a subject or a client (dropped by migration 3).
		`CREATE INDEX "{p}tokens_subject" ON {t} (subject, grant_id) WHERE subject <> ''`,
		`CREATE INDEX "{p}tokens_client" ON {t} (client_id, grant_id)`,
		`INSERT INTO {m} (name, value) VALUES ('seq', 0)`,
	},
	// 2: a token's Token Status List entry (revoke.Record.Status), 0 and 0
	// for none: status_list holds the uint64 list number as the bigint of
	// the same bits, status_idx the uint32 index. Adding a column with a
	// constant default rewrites no row. The seq index INCLUDEs them, so
	// that RevokedSince still reads it alone; it is rebuilt, which takes a
	// lock that blocks writes to the table until the migration commits.
	{
		`ALTER TABLE {t} ADD COLUMN status_list bigint NOT NULL DEFAULT 0,
			ADD COLUMN status_idx bigint NOT NULL DEFAULT 0`,
		`DROP INDEX {s}."{p}tokens_seq"`,
		`CREATE INDEX "{p}tokens_seq" ON {t} (seq) INCLUDE (id, check_sum, expires_at, status_list, status_idx) WHERE seq > 0`,
	},
	// 3: the owners table, one row per grant and owner (1 subject, 2
	// client: revoke.Owner), which GrantsOf reads a range of, in place of
	// the subject and client indexes over every record. Its key is
	// compared byte for byte (COLLATE "C"); grants without a subject have
	// no subject row.
	{
		`CREATE TABLE {o} (
			owner    smallint NOT NULL,
			key      text COLLATE "C" NOT NULL,
			grant_id bytea    NOT NULL CHECK (octet_length(grant_id) = 32),
			PRIMARY KEY (owner, key, grant_id)
		)`,
		`INSERT INTO {o} (owner, key, grant_id) SELECT DISTINCT 1, subject, grant_id FROM {t} WHERE subject <> ''`,
		`INSERT INTO {o} (owner, key, grant_id) SELECT DISTINCT 2, client_id, grant_id FROM {t}`,
		`DROP INDEX {s}."{p}tokens_subject"`,
		`DROP INDEX {s}."{p}tokens_client"`,
	},
}

// The meta table holds the schema version of the prefix's tables and the
// revocation sequence counter, one row each.
const (
	createMeta = `CREATE TABLE IF NOT EXISTS {m} (
		name  text   NOT NULL PRIMARY KEY,
		value bigint NOT NULL
	)`
	getVersion = `SELECT value FROM {m} WHERE name = 'schema_version'`
	setVersion = `INSERT INTO {m} (name, value) VALUES ('schema_version', $1) ON CONFLICT (name) DO UPDATE SET value = excluded.value`
)

// queries are the statements of a Store, with its table names filled in.
type queries struct {
	schema, prefix       string
	tokens, owners, meta string // qualified, quoted names

	get, getMany, put, del, revokeGrants string
	grantsOf, nextSeq, revokedSince      string
	expired, scan, metaExists            string
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
	q.get = q.fill(`SELECT ` + tokenColumns + ` FROM {t} WHERE id = $1`)
	q.getMany = q.fill(`SELECT ` + tokenColumns + ` FROM {t} WHERE id = ANY($1::bytea[])`)
	// A record keeps its grant and owners (see revoke.Store): a
	// replacement leaves them, and the primary key, as they are.
	set := make([]string, 0, 11)
	for _, c := range strings.Split(tokenColumns, ", ") {
		if c != "id" && c != "grant_id" && c != "client_id" && c != "subject" {
			set = append(set, c+" = excluded."+c)
		}
	}
	// The records, the owner rows their grants lack, and the counter
	// raised to the highest Seq put ($16), under the same locks as
	// nextSeq: a data-modifying WITH runs to completion whatever the main
	// statement reads of it.
	q.put = q.fill(`WITH put AS (
			INSERT INTO {t} (` + tokenColumns + `) SELECT * FROM unnest(` + tokenTypes + `)
			ON CONFLICT (id) DO UPDATE SET ` + strings.Join(set, ", ") + `
		), raise AS (
			UPDATE {m} SET value = $16::bigint WHERE name = 'seq' AND value < $16::bigint
		)
		INSERT INTO {o} (owner, key, grant_id)
		SELECT DISTINCT v.owner, v.key, u.grant_id FROM unnest($4::text[], $5::text[], $7::bytea[]) AS u(client_id, subject, grant_id),
			LATERAL (VALUES (1::smallint, u.subject COLLATE "C"), (2::smallint, u.client_id COLLATE "C")) AS v(owner, key)
		WHERE v.owner = 2 OR v.key <> ''
		ON CONFLICT DO NOTHING`)
	// The records, and the owner rows of the grants left without one: the
	// main statement sees the table as it was before the WITH's DELETE,
	// hence "id <> ALL".
	q.del = q.fill(`WITH del AS (
			DELETE FROM {t} WHERE id = ANY($1::bytea[]) RETURNING grant_id, client_id, subject
		)
		DELETE FROM {o} o USING (
			SELECT DISTINCT v.owner, v.key, d.grant_id FROM del d,
				LATERAL (VALUES (1::smallint, d.subject COLLATE "C"), (2::smallint, d.client_id COLLATE "C")) AS v(owner, key)
		) AS g
		WHERE o.owner = g.owner AND o.key = g.key AND o.grant_id = g.grant_id
			AND NOT EXISTS (SELECT 1 FROM {t} t WHERE t.grant_id = g.grant_id AND t.id <> ALL($1::bytea[]))`)
	// The grants' ranges of the primary key: a cascade over a grant of any
	// size sends one number and the grant's ID.
	q.revokeGrants = q.fill(`UPDATE {t} SET seq = $1 WHERE grant_id = ANY($2::bytea[]) AND seq = 0
		RETURNING id, check_sum, expires_at, seq, status_list, status_idx`)
	// A range of the owners table's primary key, in grant order.
	q.grantsOf = q.fill(`SELECT grant_id FROM {o} WHERE owner = $1 AND key = $2 AND grant_id > $3 ORDER BY grant_id LIMIT $4`)
	// The counter row's lock is held to the commit, and every write
	// transaction holds the Store's advisory lock besides, so sequence
	// numbers commit in the order they are handed out.
	q.nextSeq = q.fill(`UPDATE {m} SET value = value + 1 WHERE name = 'seq' RETURNING value`)
	// "seq > 0" matches the partial index's condition whatever the bound
	// value.
	q.revokedSince = q.fill(`SELECT id, check_sum, expires_at, seq, status_list, status_idx FROM {t} WHERE seq > 0 AND seq > $1 ORDER BY seq`)
	q.expired = q.fill(`SELECT id FROM {t} WHERE expires_at < $1 LIMIT $2`)
	q.scan = q.fill(`SELECT ` + tokenColumns + ` FROM {t} WHERE id > $1 ORDER BY id LIMIT $2`)
	q.metaExists = `SELECT to_regclass($1) IS NOT NULL`
	return q
}

// fill puts the table names into a statement.
func (q *queries) fill(stmt string) string {
	return strings.NewReplacer("{t}", q.tokens, "{o}", q.owners, "{m}", q.meta, "{p}", q.prefix, "{s}", quote(q.schema)).Replace(stmt)
}

// lockKey is the key of the advisory lock that the Store's write
// transactions and migrations hold, one per schema and prefix.
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

// migrate brings the prefix's tables to schemaVersion, creating the schema
// if needed. It first reads the version without any lock; if a migration is
// due it migrates in one transaction under the Store's advisory lock, after
// reading the version again: two processes opening at the same time take
// turns, and the second finds the tables made.
func (s *Store) migrate(ctx context.Context) error {
	c, err := s.db.Connx(ctx)
	if err != nil {
		return wrapf(err, "connecting")
	}
	defer c.Close()
	// Tables already up to date need no lock, nor any privilege but
	// reading: a replica starts while others write.
	v, err := s.version(ctx, c)
	if err != nil || v == schemaVersion {
		return err
	}
	if s.opts.readOnly {
		return s.notMigrated(v)
	}
	if _, err := c.ExecContext(ctx, s.beginWrite); err != nil {
		s.abort(ctx, c)
		return wrapf(err, "migrating tables of prefix %q: taking the lock", s.q.prefix)
	}
	err = s.migrateLocked(ctx, c)
	if err == nil {
		if _, err = c.ExecContext(ctx, "COMMIT"); err != nil {
			err = wrapf(err, "migrating tables of prefix %q: commit", s.q.prefix)
		}
	}
	if err != nil {
		s.abort(ctx, c)
	}
	return err
}

// notMigrated is the error of a read-only Store (WithReadOnly) over tables
// at version v, below schemaVersion: 0 when they do not exist.
func (s *Store) notMigrated(v int) error {
	if v == 0 {
		return fmt.Errorf("%w: no tables of prefix %q in schema %q, and a read-only Store creates none (%w)", ErrNotMigrated, s.q.prefix, s.q.schema, ErrReadOnly)
	}
	return fmt.Errorf("%w: the tables of prefix %q in schema %q are at schema version %d, this package reads version %d, and a read-only Store migrates nothing (%w)",
		ErrNotMigrated, s.q.prefix, s.q.schema, v, schemaVersion, ErrReadOnly)
}

func (s *Store) migrateLocked(ctx context.Context, c *sqlx.Conn) error {
	var exists bool
	if err := c.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, s.q.schema); err != nil {
		return wrapf(err, "reading the schemas")
	}
	if !exists {
		if _, err := c.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS `+quote(s.q.schema)); err != nil {
			return wrapf(err, "creating schema %q", s.q.schema)
		}
	}
	v, err := s.version(ctx, c)
	if err != nil || v == schemaVersion {
		return err
	}
	if _, err := c.ExecContext(ctx, s.q.fill(createMeta)); err != nil {
		return wrapf(err, "creating table %s", s.q.meta)
	}
	for ; v < schemaVersion; v++ {
		for _, stmt := range migrations[v] {
			if _, err := c.ExecContext(ctx, s.q.fill(stmt)); err != nil {
				return wrapf(err, "migrating tables of prefix %q to version %d", s.q.prefix, v+1)
			}
		}
	}
	if _, err := c.ExecContext(ctx, s.q.fill(setVersion), schemaVersion); err != nil {
		return wrapf(err, "recording schema version of prefix %q", s.q.prefix)
	}
	return nil
}

// version reads the schema version of the prefix's tables: 0 when they do
// not exist yet.
func (s *Store) version(ctx context.Context, c *sqlx.Conn) (int, error) {
	var exists bool
	if err := c.GetContext(ctx, &exists, s.q.metaExists, s.q.meta); err != nil {
		return 0, wrapf(err, "reading the schema")
	}
	if !exists {
		return 0, nil
	}
	var v int64
	err := c.GetContext(ctx, &v, s.q.fill(getVersion))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, wrapf(err, "reading schema version from table %s", s.q.meta)
	case v < 0:
		return 0, fmt.Errorf("%w: table %s holds schema version %d", ErrCorrupt, s.q.meta, v)
	case v > int64(schemaVersion):
		return 0, fmt.Errorf("%w: tables of prefix %q are at version %d, this package knows versions up to %d", ErrVersion, s.q.prefix, v, schemaVersion)
	}
	return int(v), nil
}
