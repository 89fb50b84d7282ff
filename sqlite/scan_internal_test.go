//go:build cgo

package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestScanPlan checks that Scan reads the index on id in ID order: no scan
// of the table, no sort.
func TestScanPlan(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var plan []struct {
		ID, Parent, NotUsed int
		Detail              string
	}
	if err := s.db.Select(&plan, "EXPLAIN QUERY PLAN "+scanQuery(s.q.prefix), []byte("a"), 10); err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, p := range plan {
		details = append(details, p.Detail)
	}
	all := strings.Join(details, "; ")
	t.Logf("Scan: %s", all)
	if strings.Contains(all, "TEMP B-TREE") || strings.Contains(all, "SCAN revoke_tokens") {
		t.Errorf("Scan: plan %q sorts or scans the table", all)
	}
	for _, want := range []string{"INDEX revoke_tokens_id (id>?)"} {
		if !strings.Contains(all, want) {
			t.Errorf("Scan: plan %q, want %s", all, want)
		}
	}
}
