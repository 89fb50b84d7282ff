package mysql

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// schemaVersion is the version of the tables this package writes.
var schemaVersion = len(migrations)

// migrations[i] takes the tables from version i to i+1 ({t}, {o}, {m}: the
// tokens, owners and meta tables). DDL commits on its own, so each
// statement can run again: a migration cut short completes at the next Open.
var migrations = [][]string{{
	// A grant is one range of the clustered primary key; VARBINARY compares
	// byte for byte; tokens_seq covers RevokedSince (with the primary key).
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

// The meta table holds the schema version and the counter, the write lock.
const (
	createMeta = `CREATE TABLE IF NOT EXISTS {m} (name VARCHAR(32) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
		value BIGINT NOT NULL) ENGINE=InnoDB`
	getVersion = `SELECT COALESCE(MAX(value), 0) FROM {m} WHERE name = 'schema_version'`
	setVersion = `INSERT INTO {m} (name, value) VALUES ('schema_version', %d) ON DUPLICATE KEY UPDATE value = VALUES(value)`
)

// queries are the statements of a Store, with its table names filled in.
type queries struct {
	prefix, tokens, owners, meta                           string
	lockRow, grantsOf, setSeq, revokedSince, expired, scan string
	get, grantsOfIDs, del, live, revoke                    string
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

// put is the upsert of n records; a record keeps its grant and owners.
func (q *queries) put(n int) string {
	return q.fill(`INSERT INTO {t} (` + tokenColumns + `) VALUES ` + marks(n, "("+marks(nTokenColumns, "?", ",")+")", ",") +
		` ON DUPLICATE KEY UPDATE check_sum = VALUES(check_sum), kind = VALUES(kind), parent = VALUES(parent),
		expires_at = VALUES(expires_at), seq = VALUES(seq), successor = VALUES(successor), rotated_at = VALUES(rotated_at),
		retries = VALUES(retries), superseded = VALUES(superseded), status_list = VALUES(status_list), status_idx = VALUES(status_idx)`)
}

// putOwners inserts n owner rows the table lacks; IGNORE skips the others
// (cheaper than an upsert), and rowArgs ruled out what else it would skip.
func (q *queries) putOwners(n int) string {
	return q.fill(`INSERT IGNORE INTO {o} (owner, owner_key, grant_id) VALUES ` + marks(n, "(?,?,?)", ","))
}

// deleteOwners deletes n owner rows of grants that have no record left.
func (q *queries) deleteOwners(n int) string {
	return q.fill(`DELETE FROM {o} WHERE (` + marks(n, "(owner = ? AND owner_key = ? AND grant_id = ?)", " OR ") +
		`) AND NOT EXISTS (SELECT 1 FROM {t} WHERE {t}.grant_id = {o}.grant_id)`)
}

// migrate brings the tables to schemaVersion under a server lock named
// after the prefix: processes opening at once take turns.
func (s *Store) migrate(ctx context.Context, timeout string) error {
	c, err := s.db.Connx(ctx)
	if err != nil {
		return wrapf(err, "connecting")
	}
	defer c.Close()
	name := "revoke_migrate_" + s.q.prefix // at most 64 characters; server-wide
	var got sql.NullInt64
	if err := c.GetContext(ctx, &got, `SELECT GET_LOCK(?, `+timeout+`)`, name); err != nil || got.Int64 != 1 {
		return wrapf(cmp.Or(err, revoke.ErrUnavailable), "migrating tables of prefix %q: lock %s not granted", s.q.prefix, name)
	}
	defer c.ExecContext(context.WithoutCancel(ctx), `DO RELEASE_LOCK(?)`, name) //nolint:errcheck // closing the connection releases it too
	var v int64
	if _, err = c.ExecContext(ctx, s.q.fill(createMeta)); err == nil {
		err = c.GetContext(ctx, &v, s.q.fill(getVersion))
	}
	switch {
	case err != nil:
		return wrapf(err, "reading the schema version of prefix %q", s.q.prefix)
	case v < 0:
		return fmt.Errorf("mysql: table %s holds schema version %d: %w", s.q.meta, v, revoke.ErrCorrupt)
	case v > int64(schemaVersion):
		return fmt.Errorf("mysql: tables of prefix %q are at version %d, this package knows versions up to %d: %w", s.q.prefix, v, schemaVersion, revoke.ErrVersion)
	case v == int64(schemaVersion):
		return nil // nothing written
	}
	for _, stmt := range append(slices.Concat(migrations[v:]...), fmt.Sprintf(setVersion, schemaVersion)) {
		if _, err = c.ExecContext(ctx, s.q.fill(stmt)); err != nil {
			return wrapf(err, "migrating tables of prefix %q to version %d", s.q.prefix, schemaVersion)
		}
	}
	return nil
}

// tokenColumns are the columns of the tokens table, in rowArgs' order; a
// new field of revoke.Record is a column here and in a migration.
const tokenColumns = `id, check_sum, kind, client_id, subject, parent, grant_id, expires_at, seq, successor, rotated_at, retries, superseded, status_list, status_idx`
const nTokenColumns = 15

// row is a row of the tokens table. Times are nanoseconds since 1970;
// zero parent, successor and rotated_at are NULL.
type row struct {
	ID          []byte        `db:"id"`
	Check       int64         `db:"check_sum"`
	Kind        int16         `db:"kind"`
	ClientID    []byte        `db:"client_id"`
	Subject     []byte        `db:"subject"`
	Parent      []byte        `db:"parent"`
	Grant       []byte        `db:"grant_id"`
	ExpiresAt   int64         `db:"expires_at"`
	Seq         int64         `db:"seq"`
	Successor   []byte        `db:"successor"`
	RotatedAt   sql.NullInt64 `db:"rotated_at"`
	Retries     int64         `db:"retries"`
	Superseded  bool          `db:"superseded"`
	StatusList  int64         `db:"status_list"`
	StatusIndex int64         `db:"status_idx"`
}

// rowArgs appends the column values of rec, in tokenColumns' order, or
// returns why rec does not fit a row.
func rowArgs(args []any, rec *revoke.Record) ([]any, error) {
	err := sqlrecord.CheckRange(*rec)
	if err == nil && (len(rec.ClientID) > revoke.MaxClientIDLength || len(rec.Subject) > revoke.MaxSubjectLength) {
		err = fmt.Errorf("client ID or subject longer than %d or %d bytes", revoke.MaxClientIDLength, revoke.MaxSubjectLength)
	}
	if err != nil {
		return nil, fmt.Errorf("mysql: Put: record %s: %w", rec.ID, err)
	}
	return append(args, rec.ID[:], int64(rec.Check), int16(rec.Kind), []byte(rec.ClientID), []byte(rec.Subject),
		sql.Null[[]byte]{V: rec.Parent[:], Valid: !rec.Parent.IsZero()}, rec.Grant[:], rec.ExpiresAt.UnixNano(), int64(rec.Seq),
		sql.Null[[]byte]{V: rec.Successor[:], Valid: !rec.Successor.IsZero()},
		sql.NullInt64{Int64: rec.RotatedAt.UnixNano(), Valid: !rec.RotatedAt.IsZero()},
		int64(rec.Retries), rec.Superseded, sqlrecord.StatusList(rec.Status), int64(rec.Status.Index)), nil
}

// idOf decodes an ID column, what it holds; a NULL one when null is set.
func idOf(b []byte, what string, null bool) (id revoke.ID, err error) {
	if len(b) != len(id) && (b != nil || !null) {
		return id, fmt.Errorf("mysql: a %s holds %d bytes, want %d: %w", what, len(b), len(id), revoke.ErrCorrupt)
	}
	copy(id[:], b)
	return id, nil
}

func (r *row) record() (rec revoke.Record, err error) {
	to := []*revoke.ID{&rec.ID, &rec.Grant, &rec.Parent, &rec.Successor} // the last two may be NULL
	for i, b := range [][]byte{r.ID, r.Grant, r.Parent, r.Successor} {
		if *to[i], err = idOf(b, [...]string{"token ID", "grant ID", "parent ID", "successor ID"}[i], i >= 2); err != nil {
			return rec, err
		}
	}
	status, ok := sqlrecord.Status(r.StatusList, r.StatusIndex)
	if r.Check < 0 || r.Check > math.MaxUint32 || r.Kind < 0 || r.Kind > math.MaxUint8 || r.Seq < 0 || r.Retries < 0 || r.Retries > math.MaxUint32 || !ok {
		return rec, fmt.Errorf("mysql: record %x has check_sum %d, kind %d, seq %d, retries %d, status_idx %d: %w",
			r.ID, r.Check, r.Kind, r.Seq, r.Retries, r.StatusIndex, revoke.ErrCorrupt)
	}
	if r.RotatedAt.Valid {
		rec.RotatedAt = time.Unix(0, r.RotatedAt.Int64).UTC()
	}
	rec.Check, rec.Kind, rec.Seq, rec.Retries = uint32(r.Check), revoke.Kind(r.Kind), uint64(r.Seq), uint32(r.Retries)
	rec.ClientID, rec.Subject, rec.ExpiresAt = string(r.ClientID), string(r.Subject), time.Unix(0, r.ExpiresAt).UTC()
	rec.Superseded, rec.Status = r.Superseded, status
	return rec, nil
}

// revocation decodes the columns RevokedSince and RevokeGrants read.
func (r *row) revocation() (revoke.Revocation, error) {
	id, err := idOf(r.ID, "token ID", false)
	rev, ok := sqlrecord.Revocation(id, r.Check, r.ExpiresAt, r.Seq, r.StatusList, r.StatusIndex)
	if err == nil && !ok {
		err = fmt.Errorf("mysql: revocation %x has check_sum %d, seq %d, status_idx %d: %w", r.ID, r.Check, r.Seq, r.StatusIndex, revoke.ErrCorrupt)
	}
	return rev, err
}
