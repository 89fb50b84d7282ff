package postgres

import (
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// This file is the one place that maps a revoke.Record to the columns of the
// tokens table and back: a new field of Record is a column here, in
// tokenColumns, in the batch of Put (columns) and in a migration.

// tokenColumns are the columns of the tokens table in the order row scans
// them and columns binds them.
const tokenColumns = `id, check_sum, kind, client_id, subject, parent, grant_id, expires_at, seq, successor, rotated_at, retries, superseded, status_list, status_idx`

// tokenTypes are the array types of the columns, in tokenColumns' order,
// for the unnest of a batch upsert.
const tokenTypes = `$1::bytea[], $2::bigint[], $3::smallint[], $4::text[], $5::text[], $6::bytea[], $7::bytea[], $8::bigint[], $9::bigint[],
	$10::bytea[], $11::bigint[], $12::bigint[], $13::boolean[], $14::bigint[], $15::bigint[]`

// row is a row of the tokens table, for sqlx to scan.
type row struct {
	ID        []byte `db:"id"`
	Check     int64  `db:"check_sum"`
	Kind      int16  `db:"kind"`
	ClientID  string `db:"client_id"`
	Subject   string `db:"subject"`
	Parent    []byte `db:"parent"` // NULL for a record without a parent
	Grant     []byte `db:"grant_id"`
	ExpiresAt int64  `db:"expires_at"` // nanoseconds since 1970, UTC
	Seq       int64  `db:"seq"`
	// Rotation state.
	Successor  []byte        `db:"successor"`  // NULL while never rotated
	RotatedAt  sql.NullInt64 `db:"rotated_at"` // NULL for the zero time
	Retries    int64         `db:"retries"`
	Superseded bool          `db:"superseded"`
	// Status List entry (see migration 2).
	StatusList  int64 `db:"status_list"` // the uint64's bits
	StatusIndex int64 `db:"status_idx"`
}

// revRow is the part of a row RevokedSince reads (from the index alone).
type revRow struct {
	ID          []byte `db:"id"`
	Check       int64  `db:"check_sum"`
	ExpiresAt   int64  `db:"expires_at"`
	Seq         int64  `db:"seq"`
	StatusList  int64  `db:"status_list"`
	StatusIndex int64  `db:"status_idx"`
}

// columns holds a batch of records column by column: the arguments of the
// batch upsert, one array per column.
type columns struct {
	id, parent, grant, successor [][]byte
	check, exp, seq, retries     []int64
	statusList, statusIndex      []int64
	rotated                      []pgtype.Int8 // NULL for the zero time
	kind                         []int16
	client, subject              []string
	superseded                   []bool
}

// checkRecord reports why rec cannot be stored, or nil.
func checkRecord(rec revoke.Record) error {
	if err := sqlrecord.CheckRange(rec); err != nil {
		return fmt.Errorf("postgres: Put: %w", err)
	}
	return nil
}

// add appends rec, which checkRecord accepted.
func (c *columns) add(rec *revoke.Record) {
	var parent, successor []byte
	if !rec.Parent.IsZero() {
		parent = rec.Parent[:]
	}
	if !rec.Successor.IsZero() {
		successor = rec.Successor[:]
	}
	var rotated pgtype.Int8
	if !rec.RotatedAt.IsZero() {
		rotated = pgtype.Int8{Int64: rec.RotatedAt.UnixNano(), Valid: true}
	}
	c.id = append(c.id, rec.ID[:])
	c.check = append(c.check, int64(rec.Check))
	c.kind = append(c.kind, int16(rec.Kind))
	c.client = append(c.client, rec.ClientID)
	c.subject = append(c.subject, rec.Subject)
	c.parent = append(c.parent, parent)
	c.grant = append(c.grant, rec.Grant[:])
	c.exp = append(c.exp, rec.ExpiresAt.UnixNano())
	c.seq = append(c.seq, int64(rec.Seq))
	c.successor = append(c.successor, successor)
	c.rotated = append(c.rotated, rotated)
	c.retries = append(c.retries, int64(rec.Retries))
	c.superseded = append(c.superseded, rec.Superseded)
	c.statusList = append(c.statusList, sqlrecord.StatusList(rec.Status))
	c.statusIndex = append(c.statusIndex, int64(rec.Status.Index))
}

// args returns the arguments of the batch upsert, in tokenTypes' order.
func (c *columns) args() []any {
	return []any{c.id, c.check, c.kind, c.client, c.subject, c.parent, c.grant, c.exp, c.seq,
		c.successor, c.rotated, c.retries, c.superseded, c.statusList, c.statusIndex}
}

func idOf(b []byte, what string) (revoke.ID, error) {
	var id revoke.ID
	if len(b) != len(id) {
		return id, fmt.Errorf("%w: a %s holds %d bytes, want %d", ErrCorrupt, what, len(b), len(id))
	}
	copy(id[:], b)
	return id, nil
}

// idsOf decodes the IDs of a column, what it holds.
func idsOf(col [][]byte, what string) ([]revoke.ID, error) {
	ids := make([]revoke.ID, len(col))
	for i, b := range col {
		var err error
		if ids[i], err = idOf(b, what); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func (r *row) record() (revoke.Record, error) {
	id, err := idOf(r.ID, "token ID")
	if err != nil {
		return revoke.Record{}, err
	}
	grant, err := idOf(r.Grant, "grant ID")
	if err != nil {
		return revoke.Record{}, err
	}
	var parent, successor revoke.ID
	if r.Parent != nil {
		if parent, err = idOf(r.Parent, "parent ID"); err != nil {
			return revoke.Record{}, err
		}
	}
	if r.Successor != nil {
		if successor, err = idOf(r.Successor, "successor ID"); err != nil {
			return revoke.Record{}, err
		}
	}
	switch {
	case r.Check < 0 || r.Check > math.MaxUint32:
		return revoke.Record{}, fmt.Errorf("%w: record %x has check_sum %d", ErrCorrupt, r.ID, r.Check)
	case r.Kind < 0 || r.Kind > math.MaxUint8:
		return revoke.Record{}, fmt.Errorf("%w: record %x has kind %d", ErrCorrupt, r.ID, r.Kind)
	case r.Seq < 0:
		return revoke.Record{}, fmt.Errorf("%w: record %x has seq %d", ErrCorrupt, r.ID, r.Seq)
	case r.Retries < 0 || r.Retries > math.MaxUint32:
		return revoke.Record{}, fmt.Errorf("%w: record %x has retries %d", ErrCorrupt, r.ID, r.Retries)
	}
	status, ok := sqlrecord.Status(r.StatusList, r.StatusIndex)
	if !ok {
		return revoke.Record{}, fmt.Errorf("%w: record %x has status_idx %d", ErrCorrupt, r.ID, r.StatusIndex)
	}
	var rotated time.Time
	if r.RotatedAt.Valid {
		rotated = time.Unix(0, r.RotatedAt.Int64).UTC()
	}
	return revoke.Record{
		ID:        id,
		Check:     uint32(r.Check),
		Kind:      revoke.Kind(r.Kind),
		ClientID:  r.ClientID,
		Subject:   r.Subject,
		Parent:    parent,
		Grant:     grant,
		ExpiresAt: time.Unix(0, r.ExpiresAt).UTC(),
		Seq:       uint64(r.Seq),

		Successor:  successor,
		RotatedAt:  rotated,
		Retries:    uint32(r.Retries),
		Superseded: r.Superseded,

		Status: status,
	}, nil
}

func (r *revRow) revocation() (revoke.Revocation, error) {
	id, err := idOf(r.ID, "token ID")
	if err != nil {
		return revoke.Revocation{}, err
	}
	rev, ok := sqlrecord.Revocation(id, r.Check, r.ExpiresAt, r.Seq, r.StatusList, r.StatusIndex)
	if !ok {
		return revoke.Revocation{}, fmt.Errorf("%w: revocation %x has check_sum %d, seq %d, status_idx %d", ErrCorrupt, r.ID, r.Check, r.Seq, r.StatusIndex)
	}
	return rev, nil
}
