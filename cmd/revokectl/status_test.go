package main

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sdkauth/revocation/revoke"
)

// statusRecords returns records with Status List entries at the ends of
// their ranges, and one without.
func statusRecords() []revoke.Record {
	recs := []revoke.Record{revokedRecord("tok-status-top", 3), revokedRecord("tok-status-one", 4), revokedRecord("tok-status-none", 5)}
	recs[0].Status = revoke.StatusRef{List: math.MaxUint64, Index: math.MaxUint32}
	recs[1].Status = revoke.StatusRef{List: 1}
	recs[2].Seq = 0 // a live token
	return recs
}

// TestStatusImportExport: import keeps each record's Status List entry on
// every backend, export writes it back as it was read ("status", absent for
// none), a record whose entry alone changed is written again, and migrate
// copies the entries to another backend.
func TestStatusImportExport(t *testing.T) {
	recs := statusRecords()
	input := jsonLines(t, recs...)
	if !strings.Contains(input, `"status":{"list":18446744073709551615,"idx":4294967295}`) || strings.Count(input, `"status"`) != 2 {
		t.Fatalf("the records as export writes them:\n%s\nwant a status object for the two with an entry", input)
	}
	dir := t.TempDir()
	for name, store := range importStores(t, dir) {
		t.Run(name, func(t *testing.T) {
			importExport(t, store, recs, `{"records":3,"written":3,"unchanged":0}`)
			changed := slices.Clone(recs)
			changed[1].Status = revoke.StatusRef{List: 2, Index: 7}
			importExport(t, store, changed, `{"records":3,"written":1,"unchanged":2}`)
			importExport(t, store, recs, `{"records":3,"written":1,"unchanged":2}`)
			to := "bolt:" + filepath.Join(dir, name+"-copy.db")
			if name == "bolt" {
				to = "sqlite:" + filepath.Join(dir, name+"-copy.sqlite")
			}
			from := append([]string{"--from"}, store[1:]...) // with its --table-prefix
			if code, out, errOut := runCLI(t, "", append(append([]string{"migrate"}, from...), "--to", to)...); code != exitOK {
				t.Fatalf("migrate: exit %d, %s%s", code, out, errOut)
			}
			wantStatuses(t, store, recs)
			wantStatuses(t, []string{"--store", to}, recs)
		})
	}
}

// importExport imports recs into store (trusting their checksums), wants
// import's --json output, then wants export to write recs back.
func importExport(t *testing.T, store []string, recs []revoke.Record, want string) {
	t.Helper()
	input := jsonLines(t, recs...)
	code, out, errOut := runCLI(t, input, append(store, "import", "--trust-checksums", "--json")...)
	if code != exitOK || out != want+"\n" {
		t.Fatalf("import: exit %d, %s%s; want %s", code, out, errOut, want)
	}
	code, export, errOut := runCLI(t, "", append(store, "export")...)
	if code != exitOK || !sameLines(export, input) {
		t.Errorf("export: exit %d, %s\n%s; want the imported lines\n%s", code, errOut, export, input)
	}
}

// wantStatuses checks that the store of url holds recs with their Status.
func wantStatuses(t *testing.T, url []string, recs []revoke.Record) {
	t.Helper()
	ctx := context.Background()
	s := openURL(t, url)
	defer s.Close()
	err := s.View(ctx, func(tx revoke.Tx) error {
		for _, want := range recs {
			got, found, err := getRecord(ctx, tx, want.ID)
			if err != nil || !found || got.Status != want.Status {
				t.Errorf("%s: record %s: Status %+v (found %v, %v), want %+v", url[1], want.ID, got.Status, found, err, want.Status)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStatusImportRefusesOutOfRange: a status index beyond 32 bits is a
// bad line, and nothing is imported.
func TestStatusImportRefusesOutOfRange(t *testing.T) {
	store := []string{"--store", "bolt:" + filepath.Join(t.TempDir(), "rev.db")}
	lines := jsonLines(t, statusRecords()...)
	bad := strings.Replace(lines, `"idx":4294967295`, `"idx":4294967296`, 1)
	code, out, errOut := runCLI(t, bad, append(store, "import")...)
	if code != exitFailure || !strings.Contains(errOut, "line 1: ") || !strings.Contains(errOut, "nothing imported") {
		t.Errorf("import of an index beyond 32 bits: exit %d, %q%q; want 7 naming line 1", code, out, errOut)
	}
}

// sameLines reports whether a and b hold the same lines, in any order.
func sameLines(a, b string) bool {
	la, lb := strings.Split(strings.TrimSpace(a), "\n"), strings.Split(strings.TrimSpace(b), "\n")
	slices.Sort(la)
	slices.Sort(lb)
	return slices.Equal(la, lb)
}
