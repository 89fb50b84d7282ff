package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

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
