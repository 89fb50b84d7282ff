package main

import (
	"bufio"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sdkauth/revocation/revoke"
	"github.com/spf13/cobra"
)

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
raw tokens never exist in a store. A token's Token Status List entry is
written as "status":{"list":N,"idx":I}, absent for a token without one. It
streams, reading --page records per
read transaction, so a store of any size never sits in memory; a store
written meanwhile is exported as each page finds it. At the end it prints
the count and the digest that migrate verifies with: on stderr when the
records go to standard output, on standard output with --output (as JSON
with --json, which needs --output). --output FILE is written under a
temporary name beside it and renamed over it once the export is whole and
on disk: a failed or interrupted export leaves FILE as it was.`,
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
			var res exportResult
			if output == "" {
				res, err = exportTo(ctx, s, page, a.stdout)
			} else {
				res, err = exportFile(ctx, s, page, output)
			}
			if err != nil {
				return err
			}
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

// exportTo writes every record of s to out as JSON Lines, reading page
// records per read transaction, and returns their count and digest.
func exportTo(ctx context.Context, s revoke.Store, page int, out io.Writer) (exportResult, error) {
	w := bufio.NewWriterSize(out, 64<<10)
	enc := json.NewEncoder(w)
	d := digest{h: sha256.New()}
	err := revoke.ScanAll(ctx, s, page, func(rec revoke.Record) error {
		d.add(rec)
		return enc.Encode(toJSON(rec))
	})
	if err == nil {
		err = w.Flush()
	}
	return exportResult{Records: d.n, SHA256: d.sum()}, err
}

// exportFile is exportTo into the file at path. A regular file, or one
// that does not exist yet, is written beside path under a temporary name,
// synced, and renamed over path only once the export is whole: a failed or
// interrupted export leaves what path held, and no partial file. Anything
// else (a device, a pipe) is written in place.
func exportFile(ctx context.Context, s revoke.Store, page int, path string) (exportResult, error) {
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return exportResult{}, err
		}
		defer f.Close()
		res, err := exportTo(ctx, s, page, f)
		return res, cmp.Or(err, f.Close())
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.partial")
	if err != nil {
		return exportResult{}, err
	}
	defer os.Remove(f.Name()) // fails, harmlessly, once renamed
	defer f.Close()
	res, err := exportTo(ctx, s, page, f)
	if err == nil {
		err = f.Sync() // durable before we say done
	}
	if err == nil {
		err = f.Close()
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	return res, err
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
