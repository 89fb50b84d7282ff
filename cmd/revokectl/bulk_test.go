package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// TestBulkInterrupted: revoke-subject stopped by an interruption, at any
// point, exits 130 and reports the tokens the batches committed before it
// revoked, as many as the store holds revoked; a re-run finishes.
func TestBulkInterrupted(t *testing.T) {
	const grants = 2000 // about 8 batches of the Revoker's owner batch
	dir := t.TempDir()
	for _, after := range []time.Duration{0, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond} {
		t.Run(after.String(), func(t *testing.T) {
			url := "bolt:" + filepath.Join(dir, "bulk-"+after.String()+".db")
			recs := make([]revoke.Record, grants)
			for i := range recs {
				recs[i] = revokedRecord("tok-bulk-"+strconv.Itoa(i), 0)
			}
			if code, out, errOut := runCLI(t, jsonLines(t, recs...), "--store", url, "import"); code != exitOK {
				t.Fatalf("import: exit %d: %s%s", code, out, errOut)
			}
			ctx, cancel := context.WithCancel(context.Background())
			if after == 0 {
				cancel()
			} else {
				time.AfterFunc(after, cancel)
			}
			defer cancel()
			var out, errOut strings.Builder
			code := runContext(ctx, []string{"--store", url, "revoke-subject", "alice", "--json"}, strings.NewReader(""), &out, &errOut)
			var res revokeResult
			if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
				t.Fatalf("exit %d, stdout %q is not the JSON result: %v (stderr %s)", code, out.String(), err, errOut.String())
			}
			switch {
			case code == exitInterrupted && !res.Interrupted, code == exitOK && res.Interrupted, code != exitOK && code != exitInterrupted:
				t.Fatalf("exit %d with %s (stderr %s)", code, out.String(), errOut.String())
			}
			if got := revokedIn(t, url); got != res.Revoked {
				t.Errorf("revoke-subject reported %d tokens revoked, the store holds %d", res.Revoked, got)
			}
			code, rerun, errOut2 := runCLI(t, "", "--store", url, "revoke-subject", "alice", "--json")
			if code != exitOK {
				t.Fatalf("re-run: exit %d: %s%s", code, rerun, errOut2)
			}
			var again revokeResult
			if err := json.Unmarshal([]byte(rerun), &again); err != nil || res.Revoked+again.Revoked != grants {
				t.Errorf("the interrupted run revoked %d tokens, the re-run %s: want %d in all", res.Revoked, rerun, grants)
			}
		})
	}
}

// revokedIn returns how many records of the store at url are revoked.
func revokedIn(t *testing.T, url string) int {
	t.Helper()
	s := openURL(t, []string{"--store", url})
	defer s.Close()
	n := 0
	err := revoke.ScanAll(context.Background(), s, 0, func(rec revoke.Record) error {
		if rec.Revoked() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBulkBadArgument: a subject no token can have is a usage error.
func TestBulkBadArgument(t *testing.T) {
	url := "bolt:" + filepath.Join(t.TempDir(), "bad.db")
	if code, out, errOut := runCLI(t, jsonLines(t, revokedRecord("tok-bad-arg", 0)), "--store", url, "import"); code != exitOK {
		t.Fatalf("import: exit %d: %s%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "", "--store", url, "revoke-subject", "al\xffce")
	if code != exitUsage || out != "" || !strings.Contains(errOut, "subject is not valid UTF-8") {
		t.Errorf("revoke-subject of invalid UTF-8: exit %d, stdout %q, stderr %q; want exit %d and the reason", code, out, errOut, exitUsage)
	}
}
