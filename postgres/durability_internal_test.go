package postgres

import "testing"

// TestLossyCommit checks which settings of synchronous_commit and fsync
// let the server acknowledge a commit before it is on disk: off for
// either (local, remote_write and remote_apply flush locally). fsync cannot
// be set per session, so TestOpenErrors tries synchronous_commit alone.
func TestLossyCommit(t *testing.T) {
	for _, c := range []struct {
		syncCommit, fsync string
		lossy             bool
	}{
		{"on", "on", false}, {"local", "on", false}, {"remote_write", "on", false}, {"remote_apply", "on", false},
		{"off", "on", true}, {"on", "off", true}, {"local", "off", true}, {"off", "off", true},
	} {
		if got := lossyCommit(c.syncCommit, c.fsync); (got != "") != c.lossy {
			t.Errorf("lossyCommit(synchronous_commit %s, fsync %s) = %q, want lossy %v", c.syncCommit, c.fsync, got, c.lossy)
		}
	}
}
