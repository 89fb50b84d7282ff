package revoke

import (
	"context"
	"fmt"
)

// DefaultScanPage is the page ScanAll reads per transaction when given a
// page of 0.
const DefaultScanPage = 1000

// MaxScanPage bounds the page of ScanAll.
const MaxScanPage = 100_000

// ScanAll calls fn for every record of s in ascending ID order, reading page
// records per read transaction (Tx.Scan from the last ID seen), so that a
// store of any size is read in memory bounded by the page and without holding
// one transaction open for the whole scan. A page of 0 means
// DefaultScanPage; a page outside [0, MaxScanPage] returns an error wrapping
// ErrInvalidOption.
//
// Each page is a consistent snapshot, the whole scan is not: a record
// written or deleted while ScanAll runs is seen or not depending on whether
// its page was read before or after. Every record is seen at most once.
// fn runs outside any transaction and may write to s. An error from fn, from
// s or from ctx stops the scan and is returned.
func ScanAll(ctx context.Context, s Store, page int, fn func(Record) error) error {
	switch {
	case page == 0:
		page = DefaultScanPage
	case page < 0 || page > MaxScanPage:
		return fmt.Errorf("revoke: ScanAll: page %d is outside [1, %d]: %w", page, MaxScanPage, ErrInvalidOption)
	}
	var buf []Record
	var after ID
	for {
		err := s.View(ctx, func(tx Tx) error {
			var err error
			buf, err = tx.Scan(ctx, after, page)
			if err == nil && len(buf) > page {
				err = fmt.Errorf("%w: Scan returned %d records, over its limit %d", errStoreContract, len(buf), page)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("revoke: ScanAll: %w", err)
		}
		for _, rec := range buf {
			if err := fn(rec); err != nil {
				return err
			}
		}
		if len(buf) < page {
			return nil
		}
		after = buf[len(buf)-1].ID
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("revoke: ScanAll: %w", err)
		}
	}
}
