package mysql

import (
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// This file maps a revoke.Record to the columns of the tokens table and
// back: a new field of Record is a column here and in a migration.

// tokenColumns are the columns of the tokens table, in rowArgs' order.
const tokenColumns = `id, check_sum, kind, client_id, subject, parent, grant_id, expires_at, seq, successor, rotated_at, retries, superseded, status_list, status_idx`

const nTokenColumns = 15

// row is a row of the tokens table. Times are nanoseconds since 1970;
// parent, successor and rotated_at are NULL for zero values; status_list
// holds the uint64's bits.
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

// checkRecord reports why rec does not fit a row, or nil.
func checkRecord(rec *revoke.Record) error {
	err := sqlrecord.CheckRange(*rec)
	if err == nil && (len(rec.ClientID) > revoke.MaxClientIDLength || len(rec.Subject) > revoke.MaxSubjectLength) {
		err = fmt.Errorf("client ID or subject longer than %d or %d bytes", revoke.MaxClientIDLength, revoke.MaxSubjectLength)
	}
	if err != nil {
		return fmt.Errorf("mysql: Put: record %s: %w", rec.ID, err)
	}
	return nil
}

// nullable is v, or NULL when zero is set.
func nullable(v any, zero bool) any {
	if zero {
		return nil
	}
	return v
}

// rowArgs appends the column values of rec, in tokenColumns' order.
func rowArgs(args []any, rec *revoke.Record) []any {
	return append(args, rec.ID[:], int64(rec.Check), int16(rec.Kind), []byte(rec.ClientID), []byte(rec.Subject),
		nullable(rec.Parent[:], rec.Parent.IsZero()), rec.Grant[:], rec.ExpiresAt.UnixNano(), int64(rec.Seq),
		nullable(rec.Successor[:], rec.Successor.IsZero()), nullable(rec.RotatedAt.UnixNano(), rec.RotatedAt.IsZero()),
		int64(rec.Retries), rec.Superseded, sqlrecord.StatusList(rec.Status), int64(rec.Status.Index))
}

// idOf decodes an ID column, what it holds; a NULL one when null is set.
func idOf(b []byte, what string, null bool) (id revoke.ID, err error) {
	if len(b) != len(id) && (b != nil || !null) {
		return id, fmt.Errorf("%w: a %s holds %d bytes, want %d", ErrCorrupt, what, len(b), len(id))
	}
	copy(id[:], b)
	return id, nil
}

func (r *row) record() (rec revoke.Record, err error) {
	for _, c := range []struct {
		to   *revoke.ID
		from []byte
		what string
		null bool
	}{{&rec.ID, r.ID, "token ID", false}, {&rec.Grant, r.Grant, "grant ID", false}, {&rec.Parent, r.Parent, "parent ID", true}, {&rec.Successor, r.Successor, "successor ID", true}} {
		if *c.to, err = idOf(c.from, c.what, c.null); err != nil {
			return rec, err
		}
	}
	status, ok := sqlrecord.Status(r.StatusList, r.StatusIndex)
	if r.Check < 0 || r.Check > math.MaxUint32 || r.Kind < 0 || r.Kind > math.MaxUint8 || r.Seq < 0 || r.Retries < 0 || r.Retries > math.MaxUint32 || !ok {
		return rec, fmt.Errorf("%w: record %x has check_sum %d, kind %d, seq %d, retries %d, status_idx %d",
			ErrCorrupt, r.ID, r.Check, r.Kind, r.Seq, r.Retries, r.StatusIndex)
	}
	if r.RotatedAt.Valid {
		rec.RotatedAt = time.Unix(0, r.RotatedAt.Int64).UTC()
	}
	rec.Check, rec.Kind, rec.Seq, rec.Retries = uint32(r.Check), revoke.Kind(r.Kind), uint64(r.Seq), uint32(r.Retries)
	rec.ClientID, rec.Subject, rec.ExpiresAt = string(r.ClientID), string(r.Subject), time.Unix(0, r.ExpiresAt).UTC()
	rec.Superseded, rec.Status = r.Superseded, status
	return rec, nil
}

// revocation decodes the columns of a revocation, which RevokedSince and
// RevokeGrants read.
func (r *row) revocation() (revoke.Revocation, error) {
	id, err := idOf(r.ID, "token ID", false)
	if err != nil {
		return revoke.Revocation{}, err
	}
	rev, ok := sqlrecord.Revocation(id, r.Check, r.ExpiresAt, r.Seq, r.StatusList, r.StatusIndex)
	if !ok {
		return revoke.Revocation{}, fmt.Errorf("%w: revocation %x has check_sum %d, seq %d, status_idx %d", ErrCorrupt, r.ID, r.Check, r.Seq, r.StatusIndex)
	}
	return rev, nil
}
