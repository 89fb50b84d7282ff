package sqlite

import (
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// row is a row of the tokens table but gkey, scanned by position (dest) in
// the order of tokenColumns, as argsOf binds a record.
type row struct {
	ID, Grant                            idValue
	Parent, Successor                    nullID
	ClientID, Subject                    string
	Check, Kind, ExpiresAt, Seq, Retries int64
	RotatedAt                            sql.NullInt64 // NULL for the zero time
	Superseded                           bool
	StatusList, StatusIndex              int64 // the list's uint64 as int64 bits
}

func (r *row) dest() []any {
	return []any{&r.ID, &r.Check, &r.Kind, &r.ClientID, &r.Subject, &r.Parent, &r.Grant,
		&r.ExpiresAt, &r.Seq, &r.Successor, &r.RotatedAt, &r.Retries, &r.Superseded, &r.StatusList, &r.StatusIndex}
}

// argsOf returns the values of rec in the order of tokenColumns, the
// parameters ?1 to ?15 of update and insert, as the driver's own types.
func argsOf(rec revoke.Record) ([]any, error) {
	if err := sqlrecord.CheckRange(rec); err != nil {
		return nil, fmt.Errorf("sqlite: Put: %w", err)
	}
	var rotated any // NULL for the zero time
	if !rec.RotatedAt.IsZero() {
		rotated = rec.RotatedAt.UnixNano()
	}
	return []any{rec.ID[:], int64(rec.Check), int64(rec.Kind), rec.ClientID, rec.Subject, nullable(rec.Parent), rec.Grant[:],
		rec.ExpiresAt.UnixNano(), int64(rec.Seq), nullable(rec.Successor), rotated, int64(rec.Retries), rec.Superseded,
		sqlrecord.StatusList(rec.Status), int64(rec.Status.Index)}, nil
}

// nullable returns the BLOB of id, or NULL for the zero ID.
func nullable(id revoke.ID) any {
	if id.IsZero() {
		return nil
	}
	return id[:]
}

func (r *row) record() (revoke.Record, error) {
	rec := revoke.Record{
		ID: revoke.ID(r.ID), Check: uint32(r.Check), Kind: revoke.Kind(r.Kind), ClientID: r.ClientID, Subject: r.Subject,
		Parent: revoke.ID(r.Parent), Grant: revoke.ID(r.Grant), ExpiresAt: time.Unix(0, r.ExpiresAt).UTC(), Seq: uint64(r.Seq),
		Successor: revoke.ID(r.Successor), Retries: uint32(r.Retries), Superseded: r.Superseded,
	}
	if r.RotatedAt.Valid {
		rec.RotatedAt = time.Unix(0, r.RotatedAt.Int64).UTC()
	}
	status, ok := sqlrecord.Status(r.StatusList, r.StatusIndex)
	rec.Status = status
	if !ok || r.Check < 0 || r.Check > math.MaxUint32 || r.Kind < 0 || r.Kind > math.MaxUint8 ||
		r.Seq < 0 || r.Retries < 0 || r.Retries > math.MaxUint32 {
		return revoke.Record{}, fmt.Errorf("%w: record %x: check_sum %d, kind %d, seq %d, retries %d, status_idx %d",
			errCorrupt, r.ID[:], r.Check, r.Kind, r.Seq, r.Retries, r.StatusIndex)
	}
	return rec, nil
}

// idValue is a revoke.ID kept as a 32-byte BLOB, scanned straight into
// the array.
type idValue revoke.ID

// Scan implements sql.Scanner.
func (v *idValue) Scan(src any) error {
	b, ok := src.([]byte)
	if !ok || len(b) != len(v) {
		return fmt.Errorf("%w: an ID column holds %T of %d bytes, want a %d-byte BLOB", errCorrupt, src, len(b), len(v))
	}
	copy(v[:], b)
	return nil
}

// nullID is an idValue that may be NULL, for the zero ID.
type nullID revoke.ID

// Scan implements sql.Scanner.
func (v *nullID) Scan(src any) error {
	if src == nil {
		*v = nullID{}
		return nil
	}
	return (*idValue)(v).Scan(src)
}
