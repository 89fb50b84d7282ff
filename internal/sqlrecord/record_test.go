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
	if _, ok := Revocation(revoke.ID{1}, 5, 0, 3); !ok {
		t.Error("a valid row refused")
	}
	for name, c := range map[string][2]int64{"negative check": {-1, 1}, "check over 32 bits": {math.MaxUint32 + 1, 1}, "zero seq": {5, 0}} {
		if _, ok := Revocation(revoke.ID{1}, c[0], 0, c[1]); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}
