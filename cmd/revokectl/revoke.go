package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sdkauth/revocation/revoke"
	"github.com/spf13/cobra"
)

type revokeResult struct {
	Revoked int    `json:"revoked"`
	DryRun  bool   `json:"dry_run,omitempty"`
	State   string `json:"state,omitempty"` // revoke: the token's state before
	Subject string `json:"subject,omitempty"`
	Client  string `json:"client_id,omitempty"`
	// Interrupted: revoke-subject or revoke-client stopped between
	// batches; Revoked counts the tokens of the batches committed.
	Interrupted bool `json:"interrupted,omitempty"`
}

func (r revokeResult) human(what string) string {
	verb := "revoked"
	if r.DryRun {
		verb = "would revoke"
	}
	return fmt.Sprintf("%s %s (%s)\n", verb, plural(r.Revoked, "token"), what)
}

// plural returns "1 token", "2 tokens".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func (a *app) revokeCmd() *cobra.Command {
	var (
		tokenFile, client string
		dryRun            bool
	)
	cmd := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke a token (from stdin) and, for a refresh token, its grant",
		Long: `revoke reads one token from standard input (or --token-file) and revokes it:
an access token alone, a refresh token with its whole grant (every rotated
refresh token and every access token minted from them). It prints how many
tokens it revoked. --client revokes only if the token belongs to that client
(default: whichever client it was issued to). A token never issued fails with
exit code 4; an already revoked one revokes nothing (exit 0). Expiry plays no
part: a token whose record is still kept is revoked even if it looks expired
(another server's clock may disagree), as the servers' Revoke does.
--dry-run counts without writing. --token-key jwt finds a JWT by its issuer
and jti, as servers running with revoke.WithTokenKey(jwtkey.KeyOrOpaque)
store it, and revokes every spelling of it.`,
		Example: `  printf %s "$REFRESH_TOKEN" | revokectl --store bolt:rev.db revoke
  revokectl --store sqlite:rev.db revoke --token-file t.txt --dry-run --json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			ctx := cmd.Context()
			tok, err := a.readToken(tokenFile)
			if err != nil {
				return err
			}
			id, err := a.tokenID(tok)
			if err != nil {
				return err
			}
			s, err := a.open(ctx, openOptions{readOnly: dryRun})
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			now := time.Now()
			var (
				rec   revoke.Record
				found bool
				count int
			)
			err = s.View(ctx, func(tx revoke.Tx) error {
				var err error
				rec, found, err = getRecord(ctx, tx, id)
				return err
			})
			if err == nil && found && dryRun {
				count, err = wouldRevoke(ctx, s.Store, rec)
			}
			if err != nil {
				return err
			}
			res := revokeResult{DryRun: dryRun, State: stateOf(rec, found, now)}
			switch {
			case !found:
				msg := "the token was never issued, or its record has been purged: nothing to revoke"
				if hint := a.jwtHint(tok); hint != "" {
					msg += "\n" + hint
				}
				return withCode(exitNotFound, errors.New(msg))
			case client != "" && client != rec.ClientID:
				return withCode(exitUsage, fmt.Errorf("the token was issued to another client than %q: nothing revoked", client))
			}
			if dryRun {
				res.Revoked = count
				return a.print(res, res.human(res.State+" "+rec.Kind.String()+" token"))
			}
			r, err := revoke.New(s.Store, revoke.WithTokenKey(a.keyFunc()))
			if err != nil {
				return err
			}
			s.Store = nil // r owns it now
			defer closeStore(r, &err)
			if res.Revoked, err = r.Revoke(ctx, tok, rec.ClientID); err != nil {
				return err
			}
			return a.print(res, res.human(res.State+" "+rec.Kind.String()+" token"))
		},
	}
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "read the token from this file instead of standard input")
	cmd.Flags().StringVar(&client, "client", "", "revoke only if the token was issued to this client")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count what would be revoked, write nothing")
	return cmd
}

// wouldRevoke counts what Revoke of rec would revoke: nothing for a
// revoked token, the token alone for an access token, the members of its
// grant not yet revoked for a refresh token. Expiry plays no part, as in
// Revoke and its cascade (see the revoke package's "Clocks"). The store
// contract lists a grant's records only as it revokes them, so a dry run of
// a refresh token reads the whole store (revoke.ScanAll), page by page.
func wouldRevoke(ctx context.Context, s revoke.Store, rec revoke.Record) (int, error) {
	switch {
	case rec.Revoked():
		return 0, nil
	case rec.Kind != revoke.Refresh:
		return 1, nil
	}
	n := 0
	err := revoke.ScanAll(ctx, s, revoke.MaxScanPage/10, func(m revoke.Record) error {
		if m.Grant == rec.Grant && !m.Revoked() {
			n++
		}
		return nil
	})
	return n, err
}
