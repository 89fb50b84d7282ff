package revoke_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
)

// TestScanAllPageBounds: a page outside [0, MaxScanPage] is refused before
// the store is read.
func TestScanAllPageBounds(t *testing.T) {
	s := memory.New()
	for _, page := range []int{-1, revoke.MaxScanPage + 1} {
		err := revoke.ScanAll(context.Background(), s, page, func(revoke.Record) error { return nil })
		if !errors.Is(err, revoke.ErrInvalidOption) {
			t.Errorf("ScanAll(page %d) = %v, want ErrInvalidOption", page, err)
		}
	}
	for _, page := range []int{0, 1, revoke.MaxScanPage} {
		if err := revoke.ScanAll(context.Background(), s, page, func(revoke.Record) error { return nil }); err != nil {
			t.Errorf("ScanAll(page %d) over an empty store: %v", page, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := revoke.ScanAll(ctx, s, 0, func(revoke.Record) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("ScanAll with a cancelled context = %v, want context.Canceled", err)
	}
}
