package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

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
		trust bool
	)
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Read JSON Lines records (as export writes them) into the store",
		Long: `import reads records as export writes them, one JSON object per line, from
standard input or --input, and writes them to the store (created if it does
not exist), --batch records per transaction. Records keep their revocation
sequence numbers, and the store's sequence moves past them, so a server
started on the store loads the same revoked set and numbers its next
revocations after them. A record already in the store is replaced; one
already equal is left alone, so import is idempotent and an interrupted
import (Ctrl-C stops it between batches, exit 130) is finished by running it
again.

Every record is checked before anything is written: a line that is not a
record a server could have written (a bad ID, kind, client, subject,
expiry, grant, rotation state, a status with an idx but no list, or a seq
above 2^53-1) fails the whole
import with its line number and field (exit 7), and nothing is written or
created. Standard input is copied to a temporary file to be read twice.
What needs other records is checked batch by batch, as it is written: an ID
given twice in one batch, or a record that breaks its grant (a record stored
under another grant, a grant's records of different clients or subjects)
fails the import with the record's ID (exit 7) after the batches before it
were committed. So does a record that would undo what the store holds: a
token revoked there that the record has live, or a refresh token rotated
there that the record has not (an old export): no import brings a revoked
token back.

A record's "check" (the CRC-32C of its token) cannot be verified without the
token. Servers find every token by its ID (its SHA-256), never by this
checksum, so a wrong one hides nothing; import does not trust it all the
same: a new record is stored with check 0, "unknown", and a record already
in the store keeps the stored checksum. --trust-checksums keeps the checks
as given: for re-importing export's own output, unchanged. migrate, whose
source is a store, keeps them.

Import into a store no server is running on: a server following an sqlite
store reads revocations by increasing sequence number and would miss imported
ones numbered below what it has read.`,
		Example: `  revokectl --store bolt:old.db export | revokectl --store sqlite:new.db import --trust-checksums
  revokectl --store sqlite:new.db import --input records.jsonl --batch 5000 --json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if batch < 1 || batch > maxBatch {
				return usagef("--batch %d is outside [1, %d]", batch, maxBatch)
			}
			ctx := cmd.Context()
			in, done, err := a.importInput(input)
			if err != nil {
				return err
			}
			defer done()
			if err := checkRecords(ctx, in); err != nil {
				return err
			}
			if err := in.rewind(); err != nil {
				return err
			}
			s, err := a.open(ctx, openOptions{create: true})
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			rr := newRecordReader(in)
			prog := newProgress(a.stderr, "imported")
			res, err := copier{dst: s, batch: batch, trusted: trust, done: prog.add}.copy(ctx, rr.next)
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
	cmd.Flags().BoolVar(&trust, "trust-checksums", false, `keep each record's "check" as given (re-importing export's output)`)
	return cmd
}

// importSource is import's input, to be read twice: a regular file from
// where it was when import started, or a temporary copy of what came
// through a pipe.
type importSource struct {
	f     *os.File
	start int64
	// r is what to read: f, or, on the first read of a pipe, what copies
	// it into the temporary file f.
	r io.Reader
}

func (s *importSource) Read(p []byte) (int, error) { return s.r.Read(p) }

// rewind makes the source read from its start again.
func (s *importSource) rewind() error {
	s.r = s.f
	_, err := s.f.Seek(s.start, io.SeekStart)
	return err
}

// importInput opens the --input file, or standard input, to be read twice;
// done closes it and removes the temporary copy.
func (a *app) importInput(input string) (src *importSource, done func(), err error) {
	f, _ := a.stdin.(*os.File)
	closeIn := func() {}
	if input != "" {
		if f, err = os.Open(input); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, nil, withCode(exitNotFound, err)
			}
			return nil, nil, err
		}
		closeIn = func() { _ = f.Close() }
	}
	if f != nil {
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			start, err := f.Seek(0, io.SeekCurrent)
			if err == nil {
				return &importSource{f: f, start: start, r: f}, closeIn, nil
			}
		}
	}
	var in io.Reader = a.stdin
	if f != nil {
		in = f
	}
	tmp, err := os.CreateTemp("", "revokectl-import-*.jsonl")
	if err != nil {
		closeIn()
		return nil, nil, fmt.Errorf("import: a temporary copy of the input: %w", err)
	}
	done = func() {
		closeIn()
		_ = tmp.Close()
		_ = os.Remove(tmp.Name())
	}
	return &importSource{f: tmp, r: io.TeeReader(in, tmp)}, done, nil
}

// checkRecords reads every record of in and returns the first that is not
// valid, by line and field (exitFailure). Reading the whole input first
// makes it readable twice (see importSource). A cancelled ctx stops it with
// errInterrupted.
func checkRecords(ctx context.Context, in io.Reader) error {
	rr := newRecordReader(in)
	for n := 0; ; n++ {
		if n%4096 == 0 && ctx.Err() != nil {
			return fmt.Errorf("import: checking the records: %w; nothing imported", errInterrupted)
		}
		_, err := rr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return withCode(exitFailure, fmt.Errorf("import: %w; nothing imported", err))
		}
	}
}
