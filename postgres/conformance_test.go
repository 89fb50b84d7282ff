package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) revoke.Store {
		s, err := postgres.Open(context.Background(), dsn, postgres.WithTablePrefix(freshPrefix(t)))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

// crashBaseEnv passes the crash test's table prefix to the re-executed
// child, which must open the same tables.
const crashBaseEnv = "REVOKE_POSTGRES_TEST_CRASH_PREFIX"

func TestCrash(t *testing.T) {
	base := os.Getenv(crashBaseEnv)
	if base == "" {
		base = freshPrefix(t)
		t.Setenv(crashBaseEnv, base)
	}
	storetest.RunCrash(t, func(path string) (revoke.Store, error) {
		return postgres.Open(context.Background(), dsn, postgres.WithTablePrefix(pathPrefix(base, path)))
	}, 10)
}
