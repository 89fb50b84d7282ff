package revoke_test

import (
	"context"

	"github.com/sdkauth/revocation/revoke"
)

// getOne reads the record of id in tx, as a caller of Tx.Get for one ID.
func getOne(ctx context.Context, tx revoke.Tx, id revoke.ID) (revoke.Record, bool, error) {
	recs, err := tx.Get(ctx, []revoke.ID{id})
	if err != nil || len(recs) == 0 {
		return revoke.Record{}, false, err
	}
	return recs[0], true, nil
}
