package main

import (
	"context"
	"fmt"
	"time"

	"github.com/sdkauth/revocation/revoke"
	"github.com/spf13/cobra"
)

type purgeResult struct {
	Purged      int  `json:"purged"`
	Interrupted bool `json:"interrupted,omitempty"`
}

func (a *app) purgeCmd() *cobra.Command {
	var (
		grace time.Duration
		batch int
	)
	cmd := &cobra.Command{
		Use:   "purge",
		Short: "Delete the records of tokens that expired more than --grace ago",
		Long: `purge deletes the records of tokens that expired more than --grace ago
(default revoke.DefaultPurgeGrace, 5m), in transactions of at most --batch
records, and prints how many it deleted. A revoked token stays revoked until
its own record is purged, so purging never makes a live token look revoked or
a revoked one live while it is valid. A progress bar shows on a terminal,
one line per batch otherwise. Ctrl-C (or SIGTERM) stops it between batches:
the batches committed stay deleted, the one under way completes, nothing is
lost; it exits 130 and a re-run carries on.`,
		Example: `  revokectl --store bolt:/var/lib/authd/revocation.db purge
  revokectl --store sqlite:rev.db purge --grace 1h --batch 5000 --json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			switch {
			case grace < 0 || grace > revoke.MaxPurgeGrace:
				return usagef("--grace %v is outside [0, %v]", grace, revoke.MaxPurgeGrace)
			case batch < 1 || batch > revoke.MaxPurgeBatch:
				return usagef("--batch %d is outside [1, %d]", batch, revoke.MaxPurgeBatch)
			}
			ctx := cmd.Context()
			s, err := a.open(ctx, openOptions{})
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			prog := newProgress(a.stderr, "purged")
			n, err := purge(ctx, s, time.Now().Add(-grace), batch, prog.add)
			prog.done()
			res := purgeResult{Purged: n, Interrupted: err == errInterrupted}
			if err != nil && !res.Interrupted {
				return fmt.Errorf("purge: %w (%d records purged before)", err, n)
			}
			human := fmt.Sprintf("purged %d records\n", n)
			if res.Interrupted {
				human = fmt.Sprintf("interrupted: purged %d records; run purge again to finish\n", n)
				a.code = exitInterrupted
			}
			return a.print(res, human)
		},
	}
	cmd.Flags().DurationVar(&grace, "grace", revoke.DefaultPurgeGrace, "keep records until this long after their expiry")
	cmd.Flags().IntVar(&batch, "batch", revoke.DefaultPurgeBatch, "records deleted per transaction")
	return cmd
}

// purge deletes the records that expired before cutoff, batch per
// transaction, calling done after each commit. A cancelled ctx stops it
// between batches with errInterrupted: the transaction under way runs to its
// commit, so every record counted is deleted and every record deleted is
// counted.
func purge(ctx context.Context, s revoke.Store, cutoff time.Time, batch int, done func(int)) (int, error) {
	total := 0
	write := context.WithoutCancel(ctx)
	var ids []revoke.ID
	for {
		if ctx.Err() != nil {
			return total, errInterrupted
		}
		err := s.Update(write, func(tx revoke.Tx) error {
			var err error
			if ids, err = tx.Expired(write, cutoff, batch); err != nil {
				return err
			}
			return tx.Delete(write, ids)
		})
		if err != nil {
			return total, err
		}
		total += len(ids)
		if len(ids) > 0 {
			done(len(ids))
		}
		if len(ids) < batch {
			return total, nil
		}
	}
}
