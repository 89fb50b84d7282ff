package postgres

import (
	"database/sql"
	"math"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// tokenColumns are the columns of the tokens table in the order row scans
// them and putArgs binds them (a new field of Record is a column in each,
// and in createTables); tokenTypes are their array types, for Put.
const (
	tokenColumns = `id, check_sum, kind, client_id, subject, parent, grant_id, expires_at, seq, successor, rotated_at, retries, superseded, status_list, status_idx`
	tokenTypes   = `$1::bytea[], $2::bigint[], $3::smallint[], $4::text[], $5::text[], $6::bytea[], $7::bytea[], $8::bigint[], $9::bigint[],
	$10::bytea[], $11::bigint[], $12::bigint[], $13::boolean[], $14::bigint[], $15::bigint[]`
)

// row is a row of the tokens table, for sqlx to scan.
type row struct {
	ID          []byte        `db:"id"`
	Check       int64         `db:"check_sum"`
	Kind        int16         `db:"kind"`
	ClientID    string        `db:"client_id"`
	Subject     string        `db:"subject"`
	Parent      []byte        `db:"parent"` // NULL for none
	Grant       []byte        `db:"grant_id"`
	ExpiresAt   int64         `db:"expires_at"`
	Seq         int64         `db:"seq"`
	Successor   []byte        `db:"successor"`  // NULL while never rotated
	RotatedAt   sql.NullInt64 `db:"rotated_at"` // NULL for the zero time
	Retries     int64         `db:"retries"`
	Superseded  bool          `db:"superseded"`
	StatusList  int64         `db:"status_list"` // the uint64's bits
	StatusIndex int64         `db:"status_idx"`
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

// putArgs returns the arguments of Put for recs, which
// sqlrecord.CheckRange accepted: one array per column, in tokenTypes' order.
func putArgs(recs []revoke.Record) []any {
	return []any{
		column(recs, func(r *revoke.Record) []byte { return r.ID[:] }),
		column(recs, func(r *revoke.Record) int64 { return int64(r.Check) }),
		column(recs, func(r *revoke.Record) int16 { return int16(r.Kind) }),
		column(recs, func(r *revoke.Record) string { return r.ClientID }),
		column(recs, func(r *revoke.Record) string { return r.Subject }),
		column(recs, func(r *revoke.Record) []byte { return nullID(r.Parent) }),
		column(recs, func(r *revoke.Record) []byte { return r.Grant[:] }),
		column(recs, func(r *revoke.Record) int64 { return r.ExpiresAt.UnixNano() }),
		column(recs, func(r *revoke.Record) int64 { return int64(r.Seq) }),
		column(recs, func(r *revoke.Record) []byte { return nullID(r.Successor) }),
		column(recs, func(r *revoke.Record) pgtype.Int8 {
			return pgtype.Int8{Int64: r.RotatedAt.UnixNano(), Valid: !r.RotatedAt.IsZero()} // NULL for the zero time
		}),
		column(recs, func(r *revoke.Record) int64 { return int64(r.Retries) }),
		column(recs, func(r *revoke.Record) bool { return r.Superseded }),
		column(recs, func(r *revoke.Record) int64 { return sqlrecord.StatusList(r.Status) }),
		column(recs, func(r *revoke.Record) int64 { return int64(r.Status.Index) }),
	}
}

// column returns a column of recs.
func column[T any](recs []revoke.Record, value func(*revoke.Record) T) []T {
	col := make([]T, len(recs))
	for i := range recs {
		col[i] = value(&recs[i])
	}
	return col
}

// nullID is id as a column value, NULL for the zero ID.
func nullID(id revoke.ID) []byte {
	if id.IsZero() {
		return nil
	}
	return id[:]
}

// setID decodes b into id, reporting whether it holds an ID (or is NULL,
// if null is allowed).
func setID(id *revoke.ID, b []byte, null bool) bool {
	if b == nil && null {
		return true
	}
	return copy(id[:], b) == len(id) && len(b) == len(id)
}

// idOf decodes an ID column value.
func idOf(b *[]byte) (id revoke.ID, err error) {
	if !setID(&id, *b, false) {
		err = corrupt("an ID of %d bytes", len(*b))
	}
	return id, err
}

func (r *row) record() (revoke.Record, error) {
	rec := revoke.Record{
		Check: uint32(r.Check), Kind: revoke.Kind(r.Kind), ClientID: r.ClientID, Subject: r.Subject,
		ExpiresAt: time.Unix(0, r.ExpiresAt).UTC(), Seq: uint64(r.Seq),
		Retries: uint32(r.Retries), Superseded: r.Superseded,
	}
	if r.RotatedAt.Valid {
		rec.RotatedAt = time.Unix(0, r.RotatedAt.Int64).UTC()
	}
	status, ok := sqlrecord.Status(r.StatusList, r.StatusIndex)
	rec.Status = status
	ok = ok && setID(&rec.ID, r.ID, false) && setID(&rec.Grant, r.Grant, false) &&
		setID(&rec.Parent, r.Parent, true) && setID(&rec.Successor, r.Successor, true) &&
		r.Check >= 0 && r.Check <= math.MaxUint32 && r.Kind >= 0 && r.Kind <= math.MaxUint8 &&
		r.Seq >= 0 && r.Retries >= 0 && r.Retries <= math.MaxUint32
	if !ok {
		return revoke.Record{}, corrupt("record %x: %+v", r.ID, *r)
	}
	return rec, nil
}

func (r *revRow) revocation() (revoke.Revocation, error) {
	rev, ok := sqlrecord.Revocation(revoke.ID{}, r.Check, r.ExpiresAt, r.Seq, r.StatusList, r.StatusIndex)
	if !ok || !setID(&rev.ID, r.ID, false) {
		return revoke.Revocation{}, corrupt("revocation %x: check_sum %d, seq %d, status_idx %d", r.ID, r.Check, r.Seq, r.StatusIndex)
	}
	return rev, nil
}
