package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/sdkauth/revocation/revoke"
	"github.com/spf13/cobra"
)

// bulk describes revoke-subject or revoke-client.
type bulk struct {
	name, field string // "revoke-subject", "subject"
	max         int    // length limit of the argument
	// revoke calls it.
	revoke func(r *revoke.Revoker, ctx context.Context, arg string) (int, error)
	// matches reports whether a record belongs to the argument.
	matches func(rec revoke.Record, arg string) bool
}

var (
	bySubject = bulk{
		name: "revoke-subject", field: "subject", max: revoke.MaxSubjectLength,
		revoke:  (*revoke.Revoker).RevokeSubject,
		matches: func(rec revoke.Record, arg string) bool { return rec.Subject == arg },
	}
	byClient = bulk{
		name: "revoke-client", field: "client_id", max: revoke.MaxClientIDLength,
		revoke:  (*revoke.Revoker).RevokeClient,
		matches: func(rec revoke.Record, arg string) bool { return rec.ClientID == arg },
	}
)

func (a *app) revokeSubjectCmd() *cobra.Command {
	return a.bulkCmd(bySubject, "SUBJECT", "every grant of a subject (a user)",
		`  revokectl --store bolt:rev.db revoke-subject alice@example.com --dry-run
  revokectl --store sqlite:rev.db revoke-subject alice@example.com --json`)
}

func (a *app) revokeClientCmd() *cobra.Command {
	return a.bulkCmd(byClient, "CLIENT", "every grant of a client (an application)",
		`  revokectl --store bolt:rev.db revoke-client billing-app --dry-run
  revokectl --store sqlite:rev.db revoke-client billing-app --json`)
}

func (a *app) bulkCmd(b bulk, argName, what, example string) *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   b.name + " " + argName,
		Short: "Revoke " + what,
		Long: b.name + ` revokes ` + what + `: every token whose ` + b.field + ` is
` + argName + `, with the cascade of each grant (its rotated refresh tokens and
the access tokens minted from them), and prints how many tokens it revoked.
--dry-run scans the store and counts the tokens it would revoke (those not
yet revoked of every grant holding such a token of ` + argName + `, whatever
their expiry) without writing. Ctrl-C (or SIGTERM) stops it between batches
of grants: those committed stay revoked and are counted; it exits 130 and a
re-run finishes.`,
		Example: example,
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) (err error) {
			ctx := cmd.Context()
			arg := argv[0]
			switch {
			case arg == "":
				return usagef("%s: empty %s", b.name, argName)
			case len(arg) > b.max:
				return usagef("%s: %s is longer than %d bytes", b.name, argName, b.max)
			}
			s, err := a.open(ctx, openOptions{readOnly: dryRun})
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			res := revokeResult{DryRun: dryRun}
			if b.field == "subject" {
				res.Subject = arg
			} else {
				res.Client = arg
			}
			human := func() string { return res.human(b.field + " " + arg) }
			if dryRun {
				if res.Revoked, err = countBulk(ctx, s, b, arg); err != nil {
					return err
				}
				return a.print(res, human())
			}
			r, err := revoke.New(s.Store)
			if err != nil {
				return err
			}
			s.Store = nil // r owns it now
			defer closeStore(r, &err)
			// On error the batches committed stay revoked, counted.
			res.Revoked, err = b.revoke(r, ctx, arg)
			switch {
			case err != nil && ctx.Err() != nil:
				res.Interrupted = true
				a.code = exitInterrupted
				return a.print(res, fmt.Sprintf("interrupted: revoked %s (%s %s); run %s again to finish\n",
					plural(res.Revoked, "token"), b.field, arg, b.name))
			case errors.As(err, new(*revoke.FieldError)):
				return withCode(exitUsage, fmt.Errorf("%s: %w", b.name, err))
			case err != nil:
				return fmt.Errorf("%s: %w (%s revoked before)", b.name, err, plural(res.Revoked, "token"))
			}
			return a.print(res, human())
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count what would be revoked, write nothing")
	return cmd
}

// countBulk counts the tokens not yet revoked of the grants that hold such a
// token matching arg, whatever their expiry (revocation never judges
// expiry: see the revoke package's "Clocks"), in two streaming scans: the
// first collects those grants (a set as large as the subject's or client's
// grants, not the store), the second counts their members.
func countBulk(ctx context.Context, s revoke.Store, b bulk, arg string) (int, error) {
	live := func(rec revoke.Record) bool { return !rec.Revoked() }
	grants := make(map[revoke.ID]struct{})
	err := revoke.ScanAll(ctx, s, 0, func(rec revoke.Record) error {
		if live(rec) && b.matches(rec, arg) {
			grants[rec.Grant] = struct{}{}
		}
		return nil
	})
	if err != nil || len(grants) == 0 {
		return 0, err
	}
	n := 0
	err = revoke.ScanAll(ctx, s, 0, func(rec revoke.Record) error {
		if _, ok := grants[rec.Grant]; ok && live(rec) {
			n++
		}
		return nil
	})
	return n, err
}
