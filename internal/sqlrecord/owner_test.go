package sqlrecord

import (
	"testing"

	"github.com/sdkauth/revocation/revoke"
)

func TestGrantsQuery(t *testing.T) {
	for _, c := range []struct {
		by         revoke.Owner
		key        string
		limit      int
		query      string
		none, fail bool
	}{
		{revoke.BySubject, "alice", 10, "S", false, false},
		{revoke.ByClient, "web", 10, "C", false, false},
		{revoke.BySubject, "", 10, "S", true, false},
		{revoke.ByClient, "", 10, "C", false, false},
		{revoke.ByClient, "web", 0, "C", true, false},
		{revoke.Owner(99), "web", 10, "", true, true},
	} {
		q, none, err := GrantsQuery("pkg", c.by, c.key, c.limit, "S", "C")
		if q != c.query || none != c.none || (err != nil) != c.fail {
			t.Errorf("GrantsQuery(%v, %q, %d) = %q, %v, %v; want %q, %v, error %v", c.by, c.key, c.limit, q, none, err, c.query, c.none, c.fail)
		}
	}
}
