package main

import (
	"fmt"
	"time"

	"github.com/sdkauth/revocation/revoke"
	"github.com/spf13/cobra"
)

// The states check reports.
const (
	stateRevoked = "revoked" // revoked, directly or by its grant's cascade
	stateLive    = "live"    // issued, not revoked, not expired
	stateSpent   = "spent"   // a refresh token rotated, not revoked: presenting it again is reuse
	stateExpired = "expired" // issued, not revoked, expired (purge removes it)
	stateUnknown = "unknown" // never issued, or purged
)

type checkResult struct {
	State     string     `json:"state"`
	Revoked   bool       `json:"revoked"`
	Kind      string     `json:"kind,omitempty"`
	ClientID  string     `json:"client_id,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Seq       uint64     `json:"seq,omitempty"`
}

func stateOf(rec revoke.Record, found bool, now time.Time) string {
	switch {
	case !found:
		return stateUnknown
	case rec.Revoked():
		return stateRevoked
	case !rec.ExpiresAt.After(now):
		return stateExpired
	case rec.Spent():
		return stateSpent
	}
	return stateLive
}

func (a *app) checkCmd() *cobra.Command {
	var tokenFile string
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Say whether a token is revoked (exit 0 revoked, 1 not)",
		Long: `check reads one token from standard input (or --token-file) and says whether
it is revoked, live, spent, expired or unknown (never issued, or purged). A
spent refresh token has been rotated: a client that presents it again, past
the server's reuse grace, gets its grant revoked. The exit code says whether
it is revoked: 0 revoked, 1 not. The store is only read.

Servers that identify JWTs by issuer and jti
(revoke.WithTokenKey(jwtkey.KeyOrOpaque)) store them under that key, not
their bytes: check them with --token-key jwt, which finds every spelling of
one JWT. Without it, a token that looks like a JWT and is not found gets a
hint on stderr.`,
		Example: `  printf %s "$TOKEN" | revokectl --store sqlite:/var/lib/authd/rev.db check
  revokectl --store bolt:rev.db check --token-file token.txt --json
  printf %s "$JWT" | revokectl --store sqlite:rev.db --token-key jwt check`,
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
			s, err := a.open(ctx, openOptions{readOnly: true})
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			var (
				rec   revoke.Record
				found bool
			)
			err = s.View(ctx, func(tx revoke.Tx) error {
				var err error
				rec, found, err = getRecord(ctx, tx, id)
				return err
			})
			if err != nil {
				return err
			}
			if !found {
				if hint := a.jwtHint(tok); hint != "" {
					fmt.Fprintln(a.stderr, hint)
				}
			}
			res := checkResult{State: stateOf(rec, found, time.Now())}
			res.Revoked = res.State == stateRevoked
			human := res.State + "\n"
			if found {
				exp := rec.ExpiresAt
				res.Kind, res.ClientID, res.ExpiresAt, res.Seq = rec.Kind.String(), rec.ClientID, &exp, rec.Seq
				human = fmt.Sprintf("%s: %s token of client %q, expires %s\n", res.State, res.Kind, res.ClientID, exp.Format(time.RFC3339))
			}
			if !res.Revoked {
				a.code = exitNotRevoked
			}
			return a.print(res, human)
		},
	}
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "read the token from this file instead of standard input")
	return cmd
}
