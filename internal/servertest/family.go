package servertest

import (
	"context"
	"fmt"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// IssueFamily issues through r what one login does in the server
// backends' load benchmarks: refresh token name, then 4 access tokens
// under it, all of client "app", expiring in an hour.
func IssueFamily(ctx context.Context, r *revoke.Revoker, name string) error {
	exp := time.Now().Add(time.Hour)
	if err := r.Issue(ctx, revoke.Token{Value: name, Kind: revoke.Refresh, ClientID: "app", ExpiresAt: exp}); err != nil {
		return err
	}
	for a := range 4 {
		at := fmt.Sprintf("%s-a%d", name, a)
		if err := r.Issue(ctx, revoke.Token{Value: at, Kind: revoke.Access, ClientID: "app", Parent: name, ExpiresAt: exp}); err != nil {
			return err
		}
	}
	return nil
}
