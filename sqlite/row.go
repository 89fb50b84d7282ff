package sqlite

import (
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// row is the record of a row of the tokens table (its columns but gkey,
// the key of its grant, which is the store's own). The statements scan and
// bind it by position (dest, args), without reflection.
type row struct {
	ID        idValue
	Check     int64
	Kind      int64
	ClientID  string
	Subject   string
	Parent    nullID
	Grant     idValue
	ExpiresAt int64 // nanoseconds since 1970, UTC
	Seq       int64
	// Rotation state.
	Successor  nullID
	RotatedAt  sql.NullInt64 // NULL for the zero time
	Retries    int64
	Superseded bool
	// Status List entry (see migration 5).
	StatusList  int64 // the uint64's bits
	StatusIndex int64
}

// dest returns pointers to the fields of r in the order of tokenColumns,
// for a plain Scan of a row.
func (r *row) dest() []any {
	return []any{&r.ID, &r.Check, &r.Kind, &r.ClientID, &r.Subject, &r.Parent, &r.Grant,
		&r.ExpiresAt, &r.Seq, &r.Successor, &r.RotatedAt, &r.Retries, &r.Superseded, &r.StatusList, &r.StatusIndex}
}

// args returns the values of r in the order of tokenColumns, the
// parameters ?1 to ?15 of update and insert: the driver's own types, so
// that binding needs no Valuer.
func (r *row) args() []any {
	var parent, successor, rotated any
	if r.Parent != (nullID{}) {
		parent = r.Parent[:]
	}
	if r.Successor != (nullID{}) {
		successor = r.Successor[:]
	}
	if r.RotatedAt.Valid {
		rotated = r.RotatedAt.Int64
	}
	return []any{r.ID[:], r.Check, r.Kind, r.ClientID, r.Subject, parent, r.Grant[:],
		r.ExpiresAt, r.Seq, successor, rotated, r.Retries, r.Superseded, r.StatusList, r.StatusIndex}
}

// revRow is the part of a row RevokedSince reads (from the seq index
// alone) and RevokeGrants returns, in the order of dest.
type revRow struct {
	ID          idValue
	Check       int64
	ExpiresAt   int64
	Seq         int64
	StatusList  int64
	StatusIndex int64
}

func rowOf(rec revoke.Record) (row, error) {
	if err := sqlrecord.CheckRange(rec); err != nil {
		return row{}, fmt.Errorf("sqlite: Put: %w", err)
	}
	var rotated sql.NullInt64
	if !rec.RotatedAt.IsZero() {
		rotated = sql.NullInt64{Int64: rec.RotatedAt.UnixNano(), Valid: true}
	}
	return row{
		Successor:  nullID(rec.Successor),
		RotatedAt:  rotated,
		Retries:    int64(rec.Retries),
		Superseded: rec.Superseded,
		ID:         idValue(rec.ID),
		Check:      int64(rec.Check),
		Kind:       int64(rec.Kind),
		ClientID:   rec.ClientID,
		Subject:    rec.Subject,
		Parent:     nullID(rec.Parent),
		Grant:      idValue(rec.Grant),
		ExpiresAt:  rec.ExpiresAt.UnixNano(),
		Seq:        int64(rec.Seq),

		StatusList:  sqlrecord.StatusList(rec.Status),
		StatusIndex: int64(rec.Status.Index),
	}, nil
}

func (r *row) record() (revoke.Record, error) {
	switch {
	case r.Check < 0 || r.Check > math.MaxUint32:
		return revoke.Record{}, fmt.Errorf("%w: record %x has check_sum %d", ErrCorrupt, r.ID[:], r.Check)
	case r.Kind < 0 || r.Kind > math.MaxUint8:
		return revoke.Record{}, fmt.Errorf("%w: record %x has kind %d", ErrCorrupt, r.ID[:], r.Kind)
	case r.Seq < 0:
		return revoke.Record{}, fmt.Errorf("%w: record %x has seq %d", ErrCorrupt, r.ID[:], r.Seq)
	case r.Retries < 0 || r.Retries > math.MaxUint32:
		return revoke.Record{}, fmt.Errorf("%w: record %x has retries %d", ErrCorrupt, r.ID[:], r.Retries)
	}
	status, ok := sqlrecord.Status(r.StatusList, r.StatusIndex)
	if !ok {
		return revoke.Record{}, fmt.Errorf("%w: record %x has status_idx %d", ErrCorrupt, r.ID[:], r.StatusIndex)
	}
	var rotated time.Time
	if r.RotatedAt.Valid {
		rotated = time.Unix(0, r.RotatedAt.Int64).UTC()
	}
	return revoke.Record{
		Successor:  revoke.ID(r.Successor),
		RotatedAt:  rotated,
		Retries:    uint32(r.Retries),
		Superseded: r.Superseded,
		ID:         revoke.ID(r.ID),
		Check:      uint32(r.Check),
		Kind:       revoke.Kind(r.Kind),
		ClientID:   r.ClientID,
		Subject:    r.Subject,
		Parent:     revoke.ID(r.Parent),
		Grant:      revoke.ID(r.Grant),
		ExpiresAt:  time.Unix(0, r.ExpiresAt).UTC(),
		Seq:        uint64(r.Seq),
		Status:     status,
	}, nil
}

// dest returns pointers to the fields of r, in the order of the columns
// of revokedSince and revokeQuery.
func (r *revRow) dest() []any {
	return []any{&r.ID, &r.Check, &r.ExpiresAt, &r.Seq, &r.StatusList, &r.StatusIndex}
}

func (r *revRow) revocation() (revoke.Revocation, error) {
	rev, ok := sqlrecord.Revocation(revoke.ID(r.ID), r.Check, r.ExpiresAt, r.Seq, r.StatusList, r.StatusIndex)
	if !ok {
		return revoke.Revocation{}, fmt.Errorf("%w: revocation %x has check_sum %d, seq %d, status_idx %d", ErrCorrupt, r.ID[:], r.Check, r.Seq, r.StatusIndex)
	}
	return rev, nil
}

// idValue is a revoke.ID kept as a 32-byte BLOB. Scanning copies the
// driver's bytes straight into the array.
type idValue revoke.ID

// Scan implements sql.Scanner.
func (v *idValue) Scan(src any) error {
	b, ok := src.([]byte)
	if !ok || len(b) != len(v) {
		return fmt.Errorf("%w: an ID column holds %T of %d bytes, want a %d-byte BLOB", ErrCorrupt, src, len(b), len(v))
	}
	copy(v[:], b)
	return nil
}

// nullID is a revoke.ID that is NULL when zero (a record without a
// parent).
type nullID revoke.ID

// Scan implements sql.Scanner.
func (v *nullID) Scan(src any) error {
	if src == nil {
		*v = nullID{}
		return nil
	}
	return (*idValue)(v).Scan(src)
}
