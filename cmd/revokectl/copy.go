package main

import (
	"context"
	"errors"
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
	// token, or 0 ("unknown", see revoke.ValidRecord) for a new one.
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
		changed, err := c.changed(write, tx, *buf)
		if err != nil {
			return err
		}
		written = int64(len(changed))
		return tx.Put(write, changed)
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

// changed checks the records of batch and returns those that differ from
// the stored ones, with their checksums as the store should keep them.
func (c copier) changed(ctx context.Context, tx revoke.Tx, batch []revoke.Record) ([]revoke.Record, error) {
	grants, err := readGrants(ctx, tx, batch)
	if err != nil {
		return nil, err
	}
	seen := make(map[revoke.ID]bool, len(batch))
	out := make([]revoke.Record, 0, len(batch))
	for _, rec := range batch {
		if err := invalid(rec); err != nil {
			return nil, fmt.Errorf("record %s: %w", rec.ID, err)
		}
		if seen[rec.ID] {
			return nil, fmt.Errorf("record %s: %w", rec.ID, errDuplicate)
		}
		seen[rec.ID] = true
		if err := grants.check(rec); err != nil {
			return nil, fmt.Errorf("record %s: %w", rec.ID, err)
		}
		old, found := grants.stored[rec.ID]
		if found && undoes(old, rec) {
			return nil, fmt.Errorf("record %s: %w", rec.ID, errUndo)
		}
		if !c.trusted {
			rec.Check = 0
			if found {
				rec.Check = old.Check
			}
		}
		if !found || !sameRecord(old, rec) {
			out = append(out, rec)
		}
	}
	return out, nil
}

// errUndo refuses a record that would make live again a token the store
// holds revoked, or unspent a refresh token it holds rotated (whose reuse
// would then go unnoticed): no copy or import undoes a revocation.
var errUndo = errors.New("the store holds this token revoked or rotated, and the record would undo that")

// undoes reports whether writing rec over stored would undo its
// revocation or its rotation.
func undoes(stored, rec revoke.Record) bool {
	return stored.Revoked() && !rec.Revoked() || stored.Spent() && !rec.Spent() && !rec.Revoked()
}

// errDuplicate reports an ID given twice in one batch.
var errDuplicate = errors.New("the same ID twice in one batch")
