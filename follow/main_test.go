package follow_test

import (
	"os"
	"testing"
)

// TestMain runs the tests, or, in a child process that
// BenchmarkRevokeWithRemoteFollowers started, the followers of its feed.
func TestMain(m *testing.M) {
	if url := os.Getenv(remoteFeedEnv); url != "" {
		os.Exit(remoteFollowers(url, os.Getenv(remoteCountEnv)))
	}
	os.Exit(m.Run())
}
