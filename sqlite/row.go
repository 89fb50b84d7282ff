package sqlite

import (
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// row is a row of the tokens table as scanned (its columns but gkey, the
// key of its grant, which is the store's own), by position (dest), without
// reflection; argsOf binds a record the same way.
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
	// Status List entry (see createTables).
	StatusList  int64 // the uint64's bits
	StatusIndex int64
}

// dest returns pointers to the fields of r in the order of tokenColumns,
// for a plain Scan of a row.
func (r *row) dest() []any {
	return []any{&r.ID, &r.Check, &r.Kind, &r.ClientID, &r.Subject, &r.Parent, &r.Grant,
		&r.ExpiresAt, &r.Seq, &r.Successor, &r.RotatedAt, &r.Retries, &r.Superseded, &r.StatusList, &r.StatusIndex}
}

// argsOf returns the values of rec in the order of tokenColumns, the
// parameters ?1 to ?15 of update and insert: the driver's own types, so
// that binding needs no Valuer.
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

// nullable returns the BLOB of id, or NULL for the zero ID (a record
// without a parent or a successor).
func nullable(id revoke.ID) any {
	if id == (revoke.ID{}) {
		return nil
	}
	return id[:]
}

func (r *row) record() (revoke.Record, error) {
	switch {
	case r.Check < 0 || r.Check > math.MaxUint32:
		return revoke.Record{}, fmt.Errorf("%w: record %x has check_sum %d", errCorrupt, r.ID[:], r.Check)
	case r.Kind < 0 || r.Kind > math.MaxUint8:
		return revoke.Record{}, fmt.Errorf("%w: record %x has kind %d", errCorrupt, r.ID[:], r.Kind)
	case r.Seq < 0:
		return revoke.Record{}, fmt.Errorf("%w: record %x has seq %d", errCorrupt, r.ID[:], r.Seq)
	case r.Retries < 0 || r.Retries > math.MaxUint32:
		return revoke.Record{}, fmt.Errorf("%w: record %x has retries %d", errCorrupt, r.ID[:], r.Retries)
	}
	status, ok := sqlrecord.Status(r.StatusList, r.StatusIndex)
	if !ok {
		return revoke.Record{}, fmt.Errorf("%w: record %x has status_idx %d", errCorrupt, r.ID[:], r.StatusIndex)
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

// idValue is a revoke.ID kept as a 32-byte BLOB. Scanning copies the
// driver's bytes straight into the array.
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
