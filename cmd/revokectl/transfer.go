package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sdkauth/revocation/revoke"
	"github.com/spf13/cobra"
)

// maxBatch bounds --batch of import and migrate: a batch is held in memory
// and written in one transaction.
const maxBatch = 100_000

const defaultBatch = 1000

type exportResult struct {
	Records int64  `json:"records"`
	SHA256  string `json:"sha256"`
}

func (a *app) exportCmd() *cobra.Command {
	var (
		output string
		page   int
	)
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write every record as JSON Lines",
		Long: `export writes every record of the store, one JSON object per line, in ID order,
to standard output or --output. Records carry the SHA-256 IDs of the tokens:
raw tokens never exist in a store. It streams, reading --page records per
read transaction, so a store of any size never sits in memory; a store
written meanwhile is exported as each page finds it. At the end it prints,
on stderr (or as JSON with --json and --output), the count and the digest
that migrate verifies with.`,
		Example: `  revokectl --store bolt:rev.db export > records.jsonl
  revokectl --store sqlite:rev.db export --output records.jsonl --json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if page < 1 || page > revoke.MaxScanPage {
				return usagef("--page %d is outside [1, %d]", page, revoke.MaxScanPage)
			}
			if a.json && output == "" {
				return usagef("--json needs --output: the records go to standard output")
			}
			ctx := cmd.Context()
			s, err := a.open(ctx, openOptions{readOnly: true})
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			out := a.stdout
			var f *os.File
			if output != "" {
				if f, err = os.Create(output); err != nil {
					return err
				}
				defer f.Close()
				out = f
			}
			w := bufio.NewWriterSize(out, 64<<10)
			enc := json.NewEncoder(w)
			d := digest{h: sha256.New()}
			err = revoke.ScanAll(ctx, s, page, func(rec revoke.Record) error {
				d.add(rec)
				return enc.Encode(toJSON(rec))
			})
			if err != nil {
				return err
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if f != nil {
				if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
					if err := f.Sync(); err != nil { // a file: durable before we say done
						return err
					}
				}
				if err := f.Close(); err != nil {
					return err
				}
			}
			res := exportResult{Records: d.n, SHA256: d.sum()}
			if output == "" {
				fmt.Fprintf(a.stderr, "exported %d records, sha256 %s\n", res.Records, res.SHA256)
				return nil
			}
			return a.print(res, fmt.Sprintf("exported %d records to %s, sha256 %s\n", res.Records, output, res.SHA256))
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	cmd.Flags().IntVar(&page, "page", revoke.DefaultScanPage, "records read per read transaction")
	return cmd
}

type importResult struct {
	Records     int64 `json:"records"`
	Written     int64 `json:"written"`
	Unchanged   int64 `json:"unchanged"`
	Interrupted bool  `json:"interrupted,omitempty"`
}

func (a *app) importCmd() *cobra.Command {
	var (
		input string
		batch int
	)
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Read JSON Lines records (as export writes them) into the store",
		Long: `import reads records as export writes them, one JSON object per line, from
standard input or --input, and writes them to the store (created if it does
not exist), --batch records per transaction, streaming. Records keep their
revocation sequence numbers, and the store's sequence moves past them, so a
server started on the store loads the same revoked set and numbers its next
revocations after them. A record already in the store is replaced; one
already equal is left alone, so import is idempotent and an interrupted
import (Ctrl-C stops it between batches, exit 130) is finished by running it
again. A bad line stops it with its line number (exit 7); the batches before
it are committed.

Import into a store no server is running on: a server following an sqlite
store reads revocations by increasing sequence number and would miss imported
ones numbered below what it has read.`,
		Example: `  revokectl --store bolt:old.db export | revokectl --store sqlite:new.db import
  revokectl --store sqlite:new.db import --input records.jsonl --batch 5000 --json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if batch < 1 || batch > maxBatch {
				return usagef("--batch %d is outside [1, %d]", batch, maxBatch)
			}
			ctx := cmd.Context()
			in := a.stdin
			if input != "" {
				f, err := os.Open(input)
				if err != nil {
					if errors.Is(err, os.ErrNotExist) {
						return withCode(exitNotFound, err)
					}
					return err
				}
				defer f.Close()
				in = f
			}
			s, err := a.open(ctx, openOptions{create: true})
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			rr := newRecordReader(in)
			prog := newProgress(a.stderr, "imported")
			res, err := copyRecords(ctx, s, batch, prog.add, rr.next)
			prog.done()
			if errors.Is(err, errInterrupted) {
				a.code = exitInterrupted
				return a.print(res, fmt.Sprintf("interrupted: imported %d records (%d written); run import again to finish\n", res.Records, res.Written))
			}
			if err != nil {
				return withCode(exitFailure, fmt.Errorf("import: %w (%d records imported before)", err, res.Records))
			}
			return a.print(res, fmt.Sprintf("imported %d records (%d written, %d already there)\n", res.Records, res.Written, res.Unchanged))
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "read from this file instead of standard input")
	cmd.Flags().IntVar(&batch, "batch", defaultBatch, "records written per transaction")
	return cmd
}

// copyRecords writes the records next returns (until io.EOF) to dst, batch
// per transaction, calling done after each commit. A record equal to the
// stored one is not rewritten. A cancelled ctx stops it between batches
// with errInterrupted; the batch under way is committed first, so every
// record counted is written.
func copyRecords(ctx context.Context, dst revoke.Store, batch int, done func(int), next func() (revoke.Record, error)) (importResult, error) {
	var res importResult
	write := context.WithoutCancel(ctx)
	buf := make([]revoke.Record, 0, min(batch, 1024))
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		var written int64
		err := dst.Update(write, func(tx revoke.Tx) error {
			written = 0
			for _, rec := range buf {
				old, found, err := tx.Get(write, rec.ID)
				if err != nil {
					return err
				}
				if found && sameRecord(old, rec) {
					continue
				}
				if err := tx.Put(write, rec); err != nil {
					return fmt.Errorf("record %s: %w", rec.ID, err)
				}
				written++
			}
			return nil
		})
		if err != nil {
			return err
		}
		res.Records += int64(len(buf))
		res.Written += written
		res.Unchanged += int64(len(buf)) - written
		done(len(buf))
		buf = buf[:0]
		return nil
	}
	for {
		rec, err := next()
		if err == io.EOF {
			return res, flush()
		}
		if err != nil {
			if ferr := flush(); ferr != nil {
				return res, ferr
			}
			return res, err
		}
		buf = append(buf, rec)
		if len(buf) == batch {
			if err := flush(); err != nil {
				return res, err
			}
			if ctx.Err() != nil {
				res.Interrupted = true
				return res, errInterrupted
			}
		}
	}
}

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
			sc.buf = sc.buf[:0]
			return tx.Scan(sc.ctx, sc.after, sc.page, func(rec revoke.Record) error {
				sc.buf = append(sc.buf, rec)
				return nil
			})
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
revocation sequence numbers, and the target's sequence moves past them.

It is idempotent: a record already equal in the target is not rewritten, so
after an interruption (Ctrl-C stops it between batches, exit 130; a crash
loses at most the batch under way) running the same command again finishes
the copy. At the end it reads both stores again and compares their record
counts and a SHA-256 digest over every record in ID order; a difference
fails with exit code 6 (a target that held other records, or a source
written during the migration: stop the server first, then re-run).
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
			case from == to:
				return usagef("--from and --to name the same store %q", from)
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
			res.importResult, err = copyRecords(ctx, dst, batch, prog.add, newScanner(ctx, src, batch).next)
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

// digestOf reads every record of s and returns their count and digest.
func digestOf(ctx context.Context, s revoke.Store, page int) (exportResult, error) {
	d := digest{h: sha256.New()}
	err := revoke.ScanAll(ctx, s, page, func(rec revoke.Record) error {
		d.add(rec)
		return nil
	})
	return exportResult{Records: d.n, SHA256: d.sum()}, err
}
