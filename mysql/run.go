package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// View runs fn in a read-only REPEATABLE READ transaction started WITH
// CONSISTENT SNAPSHOT: every read sees the commits made before it began,
// and no later one; it neither waits for writers nor holds them up.
func (s *Store) View(ctx context.Context, fn func(revoke.Tx) error) error {
	return s.run(ctx, false, fn)
}

// Update runs fn in a READ COMMITTED transaction that first locks the
// sequence counter's row (SELECT ... FOR UPDATE), as every write
// transaction over the same tables does in every process, and commits it
// if fn returns nil. See "Serializability and the sequence" in the package
// documentation.
func (s *Store) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	return s.run(ctx, true, fn)
}

func (s *Store) run(ctx context.Context, write bool, fn func(revoke.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mysql: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return err
	}
	var c *sqlx.Conn
	err := s.do(ctx, "connecting", func(ctx context.Context) (err error) { c, err = s.db.Connx(ctx); return err })
	if err != nil {
		return err
	}
	ended := false
	defer func() {
		if !ended {
			discard(c) // fn panicked: closing the connection rolls back
		}
		_ = c.Close()
	}()
	t := &tx{s: s, conn: c, TxState: sqlrecord.TxState{Ctx: ctx, Write: write}}
	if t.seq, err = s.begin(ctx, c, write); err == nil {
		err = fn(t)
	}
	t.Done, ended = true, true
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("mysql: transaction: %w", ctx.Err())
	}
	if err != nil || !write {
		s.abort(ctx, c)
		return err
	}
	return s.commit(ctx, c)
}

// begin starts a transaction on c and, for a write, takes the write lock,
// returning the sequence counter it read then.
func (s *Store) begin(ctx context.Context, c *sqlx.Conn, write bool) (uint64, error) {
	var counter int64
	stmts := s.beginRead
	if write {
		stmts = s.beginWrite
	}
	for i, stmt := range stmts {
		err := s.do(ctx, "begin", func(ctx context.Context) error {
			if !write || i < len(stmts)-1 {
				_, err := c.ExecContext(ctx, stmt)
				return err
			}
			return c.GetContext(ctx, &counter, stmt)
		})
		if errors.Is(err, sql.ErrNoRows) || counter < 0 {
			return 0, fmt.Errorf("%w: table %s has no valid sequence row (%d)", ErrCorrupt, s.q.meta, counter)
		} else if err != nil {
			return 0, err
		}
	}
	return uint64(counter), nil
}

// commit sends COMMIT, which runs to its end whatever ctx says.
func (s *Store) commit(ctx context.Context, c *sqlx.Conn) error {
	err := s.finish(ctx, c, "COMMIT")
	var me *mysql.MySQLError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &me):
		return wrapf(err, "commit") // the server answered: rolled back
	}
	// No answer: whether it committed is unknown. The write is not
	// acknowledged, nor run again (see revoke.Store).
	return fmt.Errorf("mysql: commit: outcome unknown: %w (%w)", err, revoke.ErrUnavailable)
}

// abort rolls the transaction on c back. When ctx is done it closes c,
// which rolls back too, rather than wait for a server that may not answer.
func (s *Store) abort(ctx context.Context, c *sqlx.Conn) {
	if ctx.Err() != nil {
		discard(c)
		return
	}
	_ = s.finish(ctx, c, "ROLLBACK")
}

// finish sends COMMIT or ROLLBACK, within the statement timeout whatever
// ctx says, and discards c if that fails.
func (s *Store) finish(ctx context.Context, c *sqlx.Conn, stmt string) error {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.stmtTimeout)
	defer cancel()
	_, err := c.ExecContext(fctx, stmt)
	if err != nil {
		discard(c)
	}
	return err
}

// do runs stmt, a statement of op, bounded by the statement timeout, and
// wraps its error: with ctx's if ctx is done, as a statement timeout if the
// timeout ended it.
func (s *Store) do(ctx context.Context, op string, stmt func(context.Context) error) error {
	sctx, cancel := context.WithTimeoutCause(ctx, s.opts.stmtTimeout, errStatementTimeout)
	defer cancel()
	err := stmt(sctx)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%w (%w)", wrapf(err, "%s", op), ctx.Err())
	case errors.Is(context.Cause(sctx), errStatementTimeout):
		// Not the caller's deadline: the driver's context error is not
		// wrapped.
		err = fmt.Errorf("%w after %v (%v)", errStatementTimeout, s.opts.stmtTimeout, err)
	}
	return wrapf(err, "%s", op)
}

// discard makes database/sql close c rather than pool it.
func discard(c *sqlx.Conn) { _ = c.Raw(func(any) error { return driver.ErrBadConn }) }
