package postgres

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
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
