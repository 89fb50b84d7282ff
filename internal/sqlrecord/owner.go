package sqlrecord

import (
	"fmt"

	"github.com/sdkauth/revocation/revoke"
)

// GrantsQuery returns the query of Tx.GrantsOf for by, one of the backend's
// queries bySubject and byClient, and whether the call reports nothing
// (none): a limit of 0 or less, or the empty subject, which no record
// indexes. An unknown owner is an error wrapped with pkg.
func GrantsQuery(pkg string, by revoke.Owner, key string, limit int, bySubject, byClient string) (query string, none bool, err error) {
	switch by {
	case revoke.BySubject:
		query = bySubject
	case revoke.ByClient:
		query = byClient
	default:
		return "", true, fmt.Errorf("%s: GrantsOf: unknown owner %v", pkg, by)
	}
	return query, limit <= 0 || (by == revoke.BySubject && key == ""), nil
}
