package sqlrecord

import (
	"context"
	"errors"
	"testing"
)

func TestTxStateCheck(t *testing.T) {
	live := context.Background()
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name  string
		state TxState
		ctx   context.Context
		write bool
		want  error
	}{
		{"read in a View", TxState{Ctx: live}, live, false, nil},
		{"write in an Update", TxState{Ctx: live, Write: true}, live, true, nil},
		{"write in a View", TxState{Ctx: live}, live, true, ErrReadOnlyTx},
		{"after the end", TxState{Ctx: live, Write: true, Done: true}, live, false, ErrTxDone},
		{"transaction's context done", TxState{Ctx: gone, Write: true}, live, true, context.Canceled},
		{"call's context done", TxState{Ctx: live, Write: true}, gone, true, context.Canceled},
	} {
		err := c.state.Check(c.ctx, "pkg", "Op", c.write)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s: Check = %v, want nil", c.name, err)
			}
			continue
		}
		if !errors.Is(err, c.want) || err.Error()[:8] != "pkg: Op:" {
			t.Errorf("%s: Check = %v, want pkg: Op: wrapping %v", c.name, err, c.want)
		}
	}
}
