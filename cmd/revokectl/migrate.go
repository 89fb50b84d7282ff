package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/sdkauth/revocation/revoke"
	"github.com/spf13/cobra"
)

// scanner turns revoke.ScanAll into a pull iterator (next returns io.EOF at
// the end), reading page records per read transaction: the records of one
// page at a time are in memory.
type scanner struct {
	ctx   context.Context
	s     revoke.Store
	page  int
	buf   []revoke.Record
	i     int
	after revoke.ID
	end   bool
}

func newScanner(ctx context.Context, s revoke.Store, page int) *scanner {
	return &scanner{ctx: ctx, s: s, page: page}
}

func (sc *scanner) next() (revoke.Record, error) {
	if sc.i == len(sc.buf) {
		if sc.end {
			return revoke.Record{}, io.EOF
		}
		sc.buf, sc.i = sc.buf[:0], 0
		err := sc.s.View(sc.ctx, func(tx revoke.Tx) error {
			var err error
			sc.buf, err = tx.Scan(sc.ctx, sc.after, sc.page)
			return err
		})
		if err != nil {
			return revoke.Record{}, err
		}
		sc.end = len(sc.buf) < sc.page
		if len(sc.buf) == 0 {
			return revoke.Record{}, io.EOF
		}
		sc.after = sc.buf[len(sc.buf)-1].ID
	}
	rec := sc.buf[sc.i]
	sc.i++
	return rec, nil
}

type migrateResult struct {
	From string `json:"from"`
	To   string `json:"to"`
	importResult
	Seconds  float64      `json:"seconds"`
	Verified bool         `json:"verified"`
	Source   exportResult `json:"source"`
	Target   exportResult `json:"target"`
}

func (a *app) migrateCmd() *cobra.Command {
	var (
		from, to string
		batch    int
		noVerify bool
		// verifyOnly compares without copying.
		verifyOnly bool
	)
	cmd := &cobra.Command{
		Use:   "migrate --from URL --to URL",
		Short: "Copy every record from one store to another, then verify both sides",
		Long: `migrate copies every record of the --from store into the --to store (created
if it does not exist), in ID order, --batch records per transaction, with a
progress bar on a terminal (one line per batch otherwise). Records keep their
revocation sequence numbers, checksums (both stores were written by this
library), rotation state and Token Status List entries, and the target's
sequence moves past them. It first reads the
source through: a record no server could have written (a seq above 2^53-1,
say) fails it with the record's ID and field (exit 7), and nothing is
written or created.

It is idempotent: a record already equal in the target is not rewritten, so
after an interruption (Ctrl-C stops it between batches, exit 130; a crash
loses at most the batch under way) running the same command again finishes
the copy. At the end it reads both stores again and compares their record
counts and a SHA-256 digest over every record in ID order; a difference
fails with exit code 6 (a target that held other records, or a source
written during the migration: stop the server first, then re-run). A record
of the target that servers revoked or rotated since an earlier run is not
undone by the source's live one: the re-run fails with its ID (exit 7).
--verify-only compares the two stores without copying anything.

migrate takes no --store. The source is only read (bolt: a shared lock, which
a running server's lock excludes; stop the server).`,
		Example: `  revokectl migrate --from bolt:/var/lib/authd/revocation.db --to sqlite:/var/lib/authd/revocation.sqlite
  revokectl migrate --from bolt:rev.db --to sqlite:rev.sqlite --batch 5000 --json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			switch {
			case cmd.Flags().Changed("store"):
				return usagef("migrate takes --from and --to, not --store")
			case from == "" || to == "":
				return usagef("migrate needs --from URL and --to URL")
			case from == to || sameFile(from, to):
				return usagef("--from and --to name the same store %q", from)
			case noVerify && verifyOnly:
				return usagef("--no-verify and --verify-only: give one")
			case batch < 1 || batch > maxBatch:
				return usagef("--batch %d is outside [1, %d]", batch, maxBatch)
			case a.lockTimeout < 0:
				return usagef("--lock-timeout %v is negative", a.lockTimeout)
			}
			ctx := cmd.Context()
			src, err := openStore(ctx, from, openOptions{readOnly: true, lockTimeout: a.lockTimeout, tablePrefix: a.tablePrefix})
			if err != nil {
				return fmt.Errorf("--from: %w", err)
			}
			defer closeStore(src, &err)
			if !verifyOnly {
				if err := checkStore(ctx, src, batch); err != nil {
					return err
				}
			}
			// --verify-only only reads the target too: it creates nothing.
			dst, err := openStore(ctx, to, openOptions{create: !verifyOnly, readOnly: verifyOnly, lockTimeout: a.lockTimeout, tablePrefix: a.tablePrefix})
			if err != nil {
				return fmt.Errorf("--to: %w", err)
			}
			defer closeStore(dst, &err)

			start := time.Now()
			res := migrateResult{From: src.url, To: dst.url}
			if verifyOnly {
				human := fmt.Sprintf("compared %s and %s\n", src.url, dst.url)
				return a.verify(ctx, src, dst, batch, &res, human)
			}
			prog := newProgress(a.stderr, "migrated")
			// Both ends are stores this library wrote: the checksums
			// are kept.
			res.importResult, err = copier{dst: dst, batch: batch, trusted: true, done: prog.add}.copy(ctx, newScanner(ctx, src, batch).next)
			prog.done()
			res.Seconds = time.Since(start).Seconds()
			if errors.Is(err, errInterrupted) || ctx.Err() != nil {
				res.Interrupted = true
				a.code = exitInterrupted
				return a.print(res, fmt.Sprintf("interrupted: migrated %d records (%d written); run the same migrate again to finish\n", res.Records, res.Written))
			}
			if err != nil {
				return fmt.Errorf("migrate: %w (%d records copied before)", err, res.Records)
			}
			human := fmt.Sprintf("migrated %d records from %s to %s (%d written, %d already there) in %.1fs\n",
				res.Records, src.url, dst.url, res.Written, res.Unchanged, res.Seconds)
			if noVerify {
				return a.print(res, human)
			}
			return a.verify(ctx, src, dst, batch, &res, human)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "store URL to copy from")
	cmd.Flags().StringVar(&to, "to", "", "store URL to copy to")
	cmd.Flags().IntVar(&batch, "batch", defaultBatch, "records per transaction")
	cmd.Flags().BoolVar(&noVerify, "no-verify", false, "skip the final comparison of both stores")
	cmd.Flags().BoolVar(&verifyOnly, "verify-only", false, "copy nothing: only compare both stores (exit 6 if they differ)")
	return cmd
}

// verify compares src and dst by count and digest, records the outcome in
// res and prints it after human; a difference is exitMismatch.
func (a *app) verify(ctx context.Context, src, dst *store, page int, res *migrateResult, human string) error {
	var err error
	if res.Source, err = digestOf(ctx, src, page); err != nil {
		return fmt.Errorf("verifying --from: %w", err)
	}
	if res.Target, err = digestOf(ctx, dst, page); err != nil {
		return fmt.Errorf("verifying --to: %w", err)
	}
	res.Verified = res.Source == res.Target
	if !res.Verified {
		_ = a.print(res, human)
		return withCode(exitMismatch, fmt.Errorf("verification failed: %s holds %d records (sha256 %s), %s holds %d (sha256 %s)",
			res.From, res.Source.Records, res.Source.SHA256, res.To, res.Target.Records, res.Target.SHA256))
	}
	human += fmt.Sprintf("verified: %d records, sha256 %s on both sides\n", res.Source.Records, res.Source.SHA256)
	return a.print(res, human)
}

// checkStore reads every record of src and returns the first that is not
// valid (revoke.ValidRecord), by ID and field (exitFailure), so that migrate
// refuses such a source before it writes anything.
func checkStore(ctx context.Context, src revoke.Store, page int) error {
	return revoke.ScanAll(ctx, src, page, func(rec revoke.Record) error {
		if err := invalid(rec); err != nil {
			return withCode(exitFailure, fmt.Errorf("--from: record %s: %w; nothing migrated", rec.ID, err))
		}
		return nil
	})
}

// digestOf reads every record of s and returns their count and digest.
func digestOf(ctx context.Context, s revoke.Store, page int) (exportResult, error) {
	d := digest{h: sha256.New()}
	err := revoke.ScanAll(ctx, s, page, func(rec revoke.Record) error {
		d.add(rec)
		return nil
	})
	return exportResult{Records: d.n, SHA256: d.sum()}, err
}

// sameFile reports whether two store URLs name one file under two
// spellings (bolt:rev.db and bolt:./rev.db).
func sameFile(a, b string) bool {
	an, ap, _ := strings.Cut(a, ":")
	bn, bp, _ := strings.Cut(b, ":")
	if an != bn || (an != "bolt" && an != "sqlite") {
		return false
	}
	aa, err1 := filepath.Abs(ap)
	ba, err2 := filepath.Abs(bp)
	return err1 == nil && err2 == nil && aa == ba
}
