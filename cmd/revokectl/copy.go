package main

import (
	"context"
	"fmt"
	"io"

	"github.com/sdkauth/revocation/revoke"
)

// maxBatch bounds --batch of import and migrate: a batch is held in memory
// and written in one transaction.
const maxBatch = 100_000

const defaultBatch = 1000

// copier writes records into a store, batch records per transaction,
// calling done after each commit.
type copier struct {
	dst   revoke.Store
	batch int
	// trusted keeps the records' checksums (Record.Check) as given: their
	// source is a store this library wrote, or the user vouches for them
	// (import --trust-checksums). Otherwise a record takes the checksum of
	// the record stored under its ID, which a Revoker computed from the
	// token, or 0 ("unknown", see revoke.ValidRecord) for a new one: a
	// wrong checksum would hide a revocation from IsRevoked.
	trusted bool
	done    func(int)
}

// copy writes the records next returns (until io.EOF). Each must be valid
// (revoke.ValidRecord); a record equal to the stored one is not rewritten. A
// cancelled ctx stops it between batches with errInterrupted; the batch
// under way is committed first, so every record counted is written.
func (c copier) copy(ctx context.Context, next func() (revoke.Record, error)) (importResult, error) {
	var res importResult
	buf := make([]revoke.Record, 0, min(c.batch, 1024))
	for {
		rec, err := next()
		if err == io.EOF {
			return res, c.flush(ctx, &buf, &res)
		}
		if err != nil {
			if ferr := c.flush(ctx, &buf, &res); ferr != nil {
				return res, ferr
			}
			return res, err
		}
		buf = append(buf, rec)
		if len(buf) == c.batch {
			if err := c.flush(ctx, &buf, &res); err != nil {
				return res, err
			}
			if ctx.Err() != nil {
				res.Interrupted = true
				return res, errInterrupted
			}
		}
	}
}

// flush writes the records of buf in one transaction, which runs to its
// commit whatever ctx says, counts them in res and empties buf.
func (c copier) flush(ctx context.Context, buf *[]revoke.Record, res *importResult) error {
	if len(*buf) == 0 {
		return nil
	}
	write := context.WithoutCancel(ctx)
	var written int64
	err := c.dst.Update(write, func(tx revoke.Tx) error {
		written = 0
		for _, rec := range *buf {
			w, err := c.put(write, tx, rec)
			if err != nil {
				return fmt.Errorf("record %s: %w", rec.ID, err)
			}
			if w {
				written++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	n := int64(len(*buf))
	res.Records += n
	res.Written += written
	res.Unchanged += n - written
	c.done(len(*buf))
	*buf = (*buf)[:0]
	return nil
}

// put writes rec in tx unless the same record is stored, and reports
// whether it wrote.
func (c copier) put(ctx context.Context, tx revoke.Tx, rec revoke.Record) (bool, error) {
	if err := invalid(rec); err != nil {
		return false, err
	}
	old, found, err := tx.Get(ctx, rec.ID)
	if err != nil {
		return false, err
	}
	if !c.trusted {
		rec.Check = 0
		if found {
			rec.Check = old.Check
		}
	}
	if found && sameRecord(old, rec) {
		return false, nil
	}
	return true, tx.Put(ctx, rec)
}
