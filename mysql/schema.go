package mysql

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sdkauth/revocation/revoke"
)

// schemaVersion is the version of the tables this package writes: the
// number of migrations.
var schemaVersion = len(migrations)

// migrations[i] takes the tables of a prefix from version i to i+1; {t},
// {o} and {m} stand for the tokens, owners and meta tables. MySQL commits
// each DDL statement on its own, so each can run again: a migration cut
// short completes at the next Open, which records the version last.
var migrations = [][]string{{
	// InnoDB clusters rows by the primary key: the members of a grant are
	// one range, which RevokeGrants reads. IDs are SHA-256 digests; times
	// nanoseconds since 1970. VARBINARY compares byte for byte, without
	// padding or folding. tokens_seq covers RevokedSince (InnoDB appends
	// the primary key's columns to every index).
	`CREATE TABLE IF NOT EXISTS {t} (
		grant_id VARBINARY(32) NOT NULL, id VARBINARY(32) NOT NULL, check_sum BIGINT NOT NULL, kind SMALLINT NOT NULL,
		client_id VARBINARY(256) NOT NULL, subject VARBINARY(1024) NOT NULL, parent VARBINARY(32), expires_at BIGINT NOT NULL,
		seq BIGINT NOT NULL, successor VARBINARY(32), rotated_at BIGINT, retries BIGINT NOT NULL, superseded BOOLEAN NOT NULL,
		status_list BIGINT NOT NULL, status_idx BIGINT NOT NULL,
		PRIMARY KEY (grant_id, id), UNIQUE KEY tokens_id (id), KEY tokens_expires (expires_at),
		KEY tokens_seq (seq, check_sum, expires_at, status_list, status_idx)
	) ENGINE=InnoDB`,
	// One row per grant and owner (revoke.Owner: 1 subject, 2 client).
	`CREATE TABLE IF NOT EXISTS {o} (
		owner TINYINT NOT NULL, owner_key VARBINARY(1024) NOT NULL, grant_id VARBINARY(32) NOT NULL,
		PRIMARY KEY (owner, owner_key, grant_id)
	) ENGINE=InnoDB`,
	`INSERT INTO {m} (name, value) VALUES ('seq', 0) ON DUPLICATE KEY UPDATE value = value`,
}}

// The meta table holds the schema version and the sequence counter, whose
// row is also the write lock (queries.lockRow).
const (
	createMeta = `CREATE TABLE IF NOT EXISTS {m} (name VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
		value BIGINT NOT NULL) ENGINE=InnoDB`
	getVersion = `SELECT value FROM {m} WHERE name = 'schema_version'`
	setVersion = `INSERT INTO {m} (name, value) VALUES ('schema_version', ?) ON DUPLICATE KEY UPDATE value = VALUES(value)`
)

// queries are the fixed statements of a Store, with its table names
// filled in; those over lists are made per call.
type queries struct {
	prefix, tokens, owners, meta string

	lockRow, grantsOf, setSeq, revokedSince, expired, scan string
	// Over a list of IDs: see in.
	get, grantsOfIDs, del, live, revoke string
}

// in expands the "IN (?)" of q to n placeholders.
func in(q string, n int) string {
	return strings.Replace(q, "IN (?)", "IN ("+marks(n, "?", ",")+")", 1)
}

func newQueries(prefix string) queries {
	q := queries{prefix: prefix, tokens: "`" + prefix + "tokens`", owners: "`" + prefix + "owners`", meta: "`" + prefix + "meta`"}
	q.lockRow = q.fill(`SELECT value FROM {m} WHERE name = 'seq' FOR UPDATE`)
	q.grantsOf = q.fill(`SELECT grant_id FROM {o} WHERE owner = ? AND owner_key = ? AND grant_id > ? ORDER BY grant_id LIMIT ?`)
	q.setSeq = q.fill(`UPDATE {m} SET value = ? WHERE name = 'seq'`)
	q.revokedSince = q.fill(`SELECT id, check_sum, expires_at, seq, status_list, status_idx FROM {t} WHERE seq > ? ORDER BY seq`)
	q.expired = q.fill(`SELECT id FROM {t} WHERE expires_at < ? LIMIT ?`)
	q.scan = q.fill(`SELECT ` + tokenColumns + ` FROM {t} WHERE id > ? ORDER BY id LIMIT ?`)
	q.get = q.fill(`SELECT ` + tokenColumns + ` FROM {t} WHERE id IN (?)`)
	q.grantsOfIDs = q.fill(`SELECT DISTINCT grant_id, client_id, subject FROM {t} WHERE id IN (?)`)
	q.del = q.fill(`DELETE FROM {t} WHERE id IN (?)`)
	q.live = q.fill(`SELECT id, check_sum, expires_at, seq, status_list, status_idx FROM {t} WHERE grant_id IN (?) AND seq = 0 FOR UPDATE`)
	q.revoke = q.fill(`UPDATE {t} SET seq = ? WHERE grant_id IN (?) AND seq = 0`)
	return q
}

func (q *queries) fill(stmt string) string {
	return strings.NewReplacer("{t}", q.tokens, "{o}", q.owners, "{m}", q.meta).Replace(stmt)
}

// put is the upsert of n records. A record keeps its grant and owners (see
// revoke.Store): a replacement leaves them, and the keys, as they are.
func (q *queries) put(n int) string {
	var set []string
	for _, c := range strings.Split(tokenColumns, ", ") {
		if c != "id" && c != "grant_id" && c != "client_id" && c != "subject" {
			set = append(set, c+" = VALUES("+c+")")
		}
	}
	return q.fill(`INSERT INTO {t} (` + tokenColumns + `) VALUES ` + marks(n, "("+marks(nTokenColumns, "?", ",")+")", ",") +
		` ON DUPLICATE KEY UPDATE ` + strings.Join(set, ", "))
}

// putOwners inserts n owner rows the table lacks. (INSERT IGNORE would
// turn errors other than duplicates into warnings too.)
func (q *queries) putOwners(n int) string {
	return q.fill(`INSERT INTO {o} (owner, owner_key, grant_id) VALUES ` + marks(n, "(?,?,?)", ",") + ` ON DUPLICATE KEY UPDATE grant_id = grant_id`)
}

// deleteOwners deletes n owner rows, given as (owner, key, grant)
// arguments, of the grants that have no record left.
func (q *queries) deleteOwners(n int) string {
	return q.fill(`DELETE FROM {o} WHERE (` + marks(n, "(owner = ? AND owner_key = ? AND grant_id = ?)", " OR ") +
		`) AND NOT EXISTS (SELECT 1 FROM {t} WHERE {t}.grant_id = {o}.grant_id)`)
}

// migrate brings the prefix's tables to schemaVersion under a server lock
// (GET_LOCK, named after the database and prefix): processes opening at
// the same time take turns, and the later ones find the tables made.
func (s *Store) migrate(ctx context.Context, timeout string) error {
	c, err := s.db.Connx(ctx)
	if err != nil {
		return wrapf(err, "connecting")
	}
	defer c.Close()
	var db string
	if err := c.GetContext(ctx, &db, `SELECT COALESCE(DATABASE(), '')`); err != nil || db == "" {
		return wrapf(cmp.Or(err, ErrOption), "reading the database the DSN names")
	}
	h := sha256.Sum256([]byte("github.com/sdkauth/revocation/mysql\x00" + db + "\x00" + s.q.prefix))
	name := "revoke_migrate_" + hex.EncodeToString(h[:16]) // at most 64 characters
	var got sql.NullInt64
	if err := c.GetContext(ctx, &got, `SELECT GET_LOCK(?, `+timeout+`)`, name); err != nil || got.Int64 != 1 {
		return wrapf(cmp.Or(err, revoke.ErrUnavailable), "migrating tables of prefix %q: lock %s not granted", s.q.prefix, name)
	}
	defer c.ExecContext(context.WithoutCancel(ctx), `DO RELEASE_LOCK(?)`, name) //nolint:errcheck // closing the connection releases it too
	var v int64
	if _, err = c.ExecContext(ctx, s.q.fill(createMeta)); err == nil {
		if err = c.GetContext(ctx, &v, s.q.fill(getVersion)); errors.Is(err, sql.ErrNoRows) {
			v, err = 0, nil
		}
	}
	switch {
	case err != nil:
		return wrapf(err, "reading the schema version of prefix %q", s.q.prefix)
	case v < 0:
		return fmt.Errorf("%w: table %s holds schema version %d", ErrCorrupt, s.q.meta, v)
	case v > int64(schemaVersion):
		return fmt.Errorf("%w: tables of prefix %q are at version %d, this package knows versions up to %d", ErrVersion, s.q.prefix, v, schemaVersion)
	}
	if v == int64(schemaVersion) {
		return nil
	}
	for _, stmt := range slices.Concat(migrations[v:]...) {
		if _, err = c.ExecContext(ctx, s.q.fill(stmt)); err != nil {
			return wrapf(err, "migrating tables of prefix %q to version %d", s.q.prefix, schemaVersion)
		}
	}
	if _, err = c.ExecContext(ctx, s.q.fill(setVersion), schemaVersion); err != nil {
		return wrapf(err, "recording the schema version of prefix %q", s.q.prefix)
	}
	return nil
}
