package mysql

import (
	"errors"
	"testing"
)

func TestDurable(t *testing.T) {
	for _, c := range []struct {
		flush, logBin, syncBinlog int64
		ok                        bool
	}{
		{1, 0, 0, true}, {1, 1, 1, true}, {1, 0, 1, true},
		{0, 0, 0, false}, {2, 0, 1, false}, {1, 1, 0, false}, {1, 1, 100, false},
	} {
		err := durable(c.flush, c.logBin, c.syncBinlog)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrDurability)) {
			t.Errorf("durable(flush %d, log_bin %d, sync_binlog %d) = %v, want ok %v", c.flush, c.logBin, c.syncBinlog, err, c.ok)
		}
	}
}
