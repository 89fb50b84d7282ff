package sqlrecord

import (
	"context"
	"errors"
	"fmt"
)

// Errors of a transaction used wrongly, which both SQL backends return
// wrapped with their package name.
var (
	// ErrTxDone is returned by a method of a Tx whose View or Update has
	// returned.
	ErrTxDone = errors.New("the transaction has ended")
	// ErrReadOnlyTx is returned by a write to a View's transaction.
	ErrReadOnlyTx = errors.New("write in a read-only transaction")
)

// TxState is what every method of a SQL backend's Tx checks first.
type TxState struct {
	Ctx   context.Context // the context given to View or Update
	Write bool            // the transaction is an Update's
	Done  bool            // View or Update has returned
}

// Check returns why the transaction cannot run op, a write if write is
// set, wrapped with pkg: it has ended, it is read-only, or the context of
// the transaction or of the call (ctx) is done.
func (s *TxState) Check(ctx context.Context, pkg, op string, write bool) error {
	switch {
	case s.Done:
		return fmt.Errorf("%s: %s: %w", pkg, op, ErrTxDone)
	case write && !s.Write:
		return fmt.Errorf("%s: %s: %w", pkg, op, ErrReadOnlyTx)
	}
	if err := s.Ctx.Err(); err != nil {
		return fmt.Errorf("%s: %s: %w", pkg, op, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %s: %w", pkg, op, err)
	}
	return nil
}
