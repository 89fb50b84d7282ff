package mysql_test

import (
	"context"
	"testing"

	"github.com/sdkauth/revocation/mysql"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/store/storebench"
)

// BenchmarkStore runs the common benchmarks of package storebench, each
// Store on tables of a prefix of its own. The bytes written per token are
// the server's: the InnoDB redo log it wrote (Innodb_os_log_written),
// which holds every row and index change. Without REVOKE_MYSQL_DSN,
// TestMain skips it, as every test of the package.
func BenchmarkStore(b *testing.B) {
	db := admin(b)
	redoBytes := func() (int64, error) {
		var row struct {
			Name  string `db:"Variable_name"`
			Value int64  `db:"Value"`
		}
		err := db.Get(&row, `SHOW GLOBAL STATUS LIKE 'Innodb_os_log_written'`)
		return row.Value, err
	}
	storebench.Run(b, func(b *testing.B) revoke.Store {
		s, err := mysql.Open(context.Background(), dsn, mysql.WithTablePrefix(freshPrefix(b)))
		if err != nil {
			b.Fatal(err)
		}
		return s
	}, storebench.WithWriteMeter(redoBytes))
}
