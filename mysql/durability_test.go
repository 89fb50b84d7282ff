package mysql_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sdkauth/revocation/mysql"
)

// TestDurabilityRefused lowers the server's innodb_flush_log_at_trx_commit
// to 2 for the duration of the test (it runs before the parallel tests,
// which wait for it): Open must refuse the server with ErrDurability, and
// accept it WithRelaxedDurability. The setting is restored at the end.
func TestDurabilityRefused(t *testing.T) {
	ctx := context.Background()
	db := admin(t)
	var was int
	if err := db.Get(&was, `SELECT @@GLOBAL.innodb_flush_log_at_trx_commit`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`SET GLOBAL innodb_flush_log_at_trx_commit = 2`); err != nil {
		t.Skipf("cannot change innodb_flush_log_at_trx_commit (the test needs SUPER): %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.Exec(`SET GLOBAL innodb_flush_log_at_trx_commit = ?`, was); err != nil {
			t.Errorf("restoring innodb_flush_log_at_trx_commit = %d: %v", was, err)
		}
	})
	prefix := freshPrefix(t)
	if s, err := mysql.Open(ctx, dsn, mysql.WithTablePrefix(prefix)); !errors.Is(err, mysql.ErrDurability) {
		if s != nil {
			s.Close()
		}
		t.Errorf("Open of a server that does not flush commits: %v, want ErrDurability", err)
	}
	if tables, err := tablesOf(db, prefix); err != nil || len(tables) != 0 {
		t.Errorf("the refused Open made tables %q (%v)", tables, err)
	}
	open(t, prefix, mysql.WithRelaxedDurability())
}
