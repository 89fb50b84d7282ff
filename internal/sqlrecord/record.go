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
// the row's check sum or sequence number is out of range (a corrupt row).
func Revocation(id revoke.ID, check, expiresAt, seq int64) (rev revoke.Revocation, ok bool) {
	if check < 0 || check > math.MaxUint32 || seq <= 0 {
		return revoke.Revocation{}, false
	}
	return revoke.Revocation{ID: id, Check: uint32(check), ExpiresAt: time.Unix(0, expiresAt).UTC(), Seq: uint64(seq)}, true
}
