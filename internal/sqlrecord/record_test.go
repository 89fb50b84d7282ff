package sqlrecord

import (
	"math"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

func TestCheckRange(t *testing.T) {
	ok := revoke.Record{ExpiresAt: time.Now()}
	if err := CheckRange(ok); err != nil {
		t.Errorf("CheckRange of a record in range: %v", err)
	}
	for name, rec := range map[string]revoke.Record{
		"ExpiresAt after 2262":  {ExpiresAt: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)},
		"ExpiresAt before 1678": {ExpiresAt: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)},
		"RotatedAt after 2262":  {ExpiresAt: time.Now(), RotatedAt: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)},
		"Seq over MaxInt64":     {ExpiresAt: time.Now(), Seq: math.MaxInt64 + 1},
	} {
		if err := CheckRange(rec); err == nil {
			t.Errorf("%s: CheckRange accepted it", name)
		}
	}
}

func TestClampNano(t *testing.T) {
	if got := ClampNano(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)); got != math.MaxInt64 {
		t.Errorf("ClampNano(2300) = %d, want MaxInt64", got)
	}
	if got := ClampNano(time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)); got != math.MinInt64 {
		t.Errorf("ClampNano(1600) = %d, want MinInt64", got)
	}
	now := time.Now()
	if got := ClampNano(now); got != now.UnixNano() {
		t.Errorf("ClampNano(now) = %d, want %d", got, now.UnixNano())
	}
}

func TestRevocation(t *testing.T) {
	if _, ok := Revocation(revoke.ID{1}, 5, 0, 3, 0, 0); !ok {
		t.Error("a valid row refused")
	}
	for name, c := range map[string][3]int64{
		"negative check":     {-1, 1, 0},
		"check over 32 bits": {math.MaxUint32 + 1, 1, 0},
		"zero seq":           {5, 0, 0},
		"negative index":     {5, 1, -1},
		"index over 32 bits": {5, 1, math.MaxUint32 + 1},
	} {
		if _, ok := Revocation(revoke.ID{1}, c[0], 0, c[1], 1, c[2]); ok {
			t.Errorf("%s: accepted", name)
		}
	}
	top := revoke.StatusRef{List: math.MaxUint64, Index: math.MaxUint32}
	rev, ok := Revocation(revoke.ID{1}, 5, 0, 3, StatusList(top), int64(top.Index))
	if !ok || rev.Status != top {
		t.Errorf("Revocation of the greatest Status = %+v, %v; want Status %+v", rev, ok, top)
	}
}

// TestStatusColumns: every Status List entry reads back from its columns as
// it was written, lists above math.MaxInt64 included.
func TestStatusColumns(t *testing.T) {
	for _, s := range []revoke.StatusRef{{}, {List: 1}, {List: math.MaxInt64, Index: 7}, {List: math.MaxInt64 + 1, Index: 1 << 31},
		{List: math.MaxUint64, Index: math.MaxUint32}} {
		got, ok := Status(StatusList(s), int64(s.Index))
		if !ok || got != s {
			t.Errorf("Status(StatusList(%+v)) = %+v, %v", s, got, ok)
		}
	}
	if StatusList(revoke.StatusRef{List: math.MaxUint64}) != -1 {
		t.Error("StatusList(MaxUint64) is not the int64 of the same bits, -1")
	}
}
