package sqlrecord

import (
	"fmt"
	"math"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// The range of times kept exactly as int64 nanoseconds since 1970.
var (
	minNano = time.Unix(0, math.MinInt64)
	maxNano = time.Unix(0, math.MaxInt64)
)

// CheckRange reports why rec does not fit a row (a time outside the years
// 1678 to 2262, a sequence number above math.MaxInt64), or nil.
func CheckRange(rec revoke.Record) error {
	switch {
	case !inRange(rec.ExpiresAt):
		return fmt.Errorf("expiry %v is outside the years 1678 to 2262", rec.ExpiresAt)
	case rec.Seq > math.MaxInt64:
		return fmt.Errorf("sequence number %d does not fit in a signed 64-bit integer", rec.Seq)
	case !rec.RotatedAt.IsZero() && !inRange(rec.RotatedAt):
		return fmt.Errorf("rotation time %v is outside the years 1678 to 2262", rec.RotatedAt)
	}
	return nil
}

func inRange(t time.Time) bool { return !t.Before(minNano) && !t.After(maxNano) }

// ClampNano is t in nanoseconds since 1970, clamped to the int64 range, for
// a bound in a query.
func ClampNano(t time.Time) int64 {
	switch {
	case t.Before(minNano):
		return math.MinInt64
	case t.After(maxNano):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// Revocation returns the index entry of a revoked row, or ok == false when
// the row's check sum, sequence number or Status List index is out of
// range (a corrupt row). statusList and statusIndex are the row's Status
// List entry as StatusList and Status keep it.
func Revocation(id revoke.ID, check, expiresAt, seq, statusList, statusIndex int64) (rev revoke.Revocation, ok bool) {
	status, ok := Status(statusList, statusIndex)
	if check < 0 || check > math.MaxUint32 || seq <= 0 || !ok {
		return revoke.Revocation{}, false
	}
	return revoke.Revocation{ID: id, Check: uint32(check), ExpiresAt: time.Unix(0, expiresAt).UTC(), Seq: uint64(seq), Status: status}, true
}

// StatusList is the column value of s.List: a signed 64-bit integer with the
// bits of the uint64, so that lists above math.MaxInt64 read as negative
// numbers in SQL, and every list reads back as it was written.
func StatusList(s revoke.StatusRef) int64 { return int64(s.List) }

// Status returns the Status List entry of a row's columns, list as
// StatusList writes it, or ok == false when index is out of the uint32
// range (a corrupt row).
func Status(list, index int64) (s revoke.StatusRef, ok bool) {
	if index < 0 || index > math.MaxUint32 {
		return revoke.StatusRef{}, false
	}
	return revoke.StatusRef{List: uint64(list), Index: uint32(index)}, true
}
