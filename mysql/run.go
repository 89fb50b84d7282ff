package mysql

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"

	"github.com/go-sql-driver/mysql"
	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// View runs fn in a READ ONLY transaction WITH CONSISTENT SNAPSHOT (REPEATABLE READ).
func (s *Store) View(ctx context.Context, fn func(revoke.Tx) error) error {
	return s.run(ctx, false, fn)
}

// Update runs fn in a READ COMMITTED transaction that first takes the
// write lock (see the package documentation).
func (s *Store) Update(ctx context.Context, fn func(revoke.Tx) error) error {
	return s.run(ctx, true, fn)
}

func (s *Store) run(ctx context.Context, write bool, fn func(revoke.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return err
	}
	var c *sqlx.Conn
	err := s.do(ctx, nil, "connecting", func(ctx context.Context) (err error) { c, err = s.db.Connx(ctx); return err })
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
	t := &tx{s: s, conn: c, TxState: sqlrecord.TxState{Ctx: ctx, Write: write}, known: map[revoke.ID][2]string{}}
	if t.seq, err = s.begin(ctx, c, write); err == nil {
		err = cmp.Or(fn(t), t.lost) // fn may have gone on after the rollback
	}
	t.Done, ended = true, true
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("mysql: transaction: %w", ctx.Err())
	}
	if err != nil || !write {
		if ctx.Err() != nil {
			discard(c) // rather than wait for a server that may not answer
		} else {
			_ = s.finish(ctx, c, "ROLLBACK")
		}
		return err
	}
	return s.commit(ctx, c)
}

// begin starts a transaction on c and, for a write, takes the write lock,
// returning the sequence counter it read then.
func (s *Store) begin(ctx context.Context, c *sqlx.Conn, write bool) (uint64, error) {
	stmts, counter := s.beginRead, int64(0)
	if write {
		stmts = s.beginWrite
	}
	err := s.do(ctx, nil, "begin", func(ctx context.Context) (err error) {
		for i := 0; err == nil && i < len(stmts); i++ {
			if write && i == len(stmts)-1 {
				return c.GetContext(ctx, &counter, stmts[i])
			}
			_, err = c.ExecContext(ctx, stmts[i])
		}
		return err
	})
	if errors.Is(err, sql.ErrNoRows) || counter < 0 {
		return 0, fmt.Errorf("mysql: table %s has no valid sequence row (%d): %w", s.q.meta, counter, revoke.ErrCorrupt)
	}
	return uint64(counter), err
}

// commit sends COMMIT, which runs to its end whatever ctx says.
func (s *Store) commit(ctx context.Context, c *sqlx.Conn) error {
	switch err := s.finish(ctx, c, "COMMIT"); {
	case err == nil:
		return nil
	case errors.As(err, new(*mysql.MySQLError)):
		return wrapf(err, "commit") // the server answered: rolled back
	default: // no answer
		return fmt.Errorf("mysql: commit: outcome unknown: %w (%w)", err, revoke.ErrUnavailable)
	}
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

// do runs stmt of op, bounded by the statement timeout, and wraps its error.
// After ErrUnavailable (a deadlock, say) the server may have rolled t back: t ends.
func (s *Store) do(ctx context.Context, t *tx, op string, stmt func(context.Context) error) error {
	sctx, cancel := context.WithTimeoutCause(ctx, s.opts.stmtTimeout, errStatementTimeout)
	defer cancel()
	err := stmt(sctx)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%w (%w)", wrapf(err, "%s", op), ctx.Err())
	case errors.Is(context.Cause(sctx), errStatementTimeout):
		// Not the caller's deadline: the driver's context error is not wrapped.
		err = fmt.Errorf("%w after %v (%v)", errStatementTimeout, s.opts.stmtTimeout, err)
	}
	if err = wrapf(err, "%s", op); t != nil && errors.Is(err, revoke.ErrUnavailable) {
		t.Done, t.lost = true, err
	}
	return err
}

// discard makes database/sql close c rather than pool it.
func discard(c *sqlx.Conn) { _ = c.Raw(func(any) error { return driver.ErrBadConn }) }

// ErrDurability is returned by Open and New for a server that may
// acknowledge a commit that a crash loses (see WithRelaxedDurability).
var ErrDurability = errors.New("mysql: the server does not flush commits to disk")

var errZeroStore, errStatementTimeout = errors.New("mysql: the zero Store is not usable; create it with Open or New"), errors.New("statement timeout")

// unavailable are the server's error numbers that mean it cannot serve
// now: too many connections, shutdown, lock wait timeout, deadlock,
// read-only server, query interrupted or killed, gone away, lost
// connection, max_execution_time, disconnected for inactivity.
var unavailable = map[uint16]bool{1040: true, 1053: true, 1205: true, 1213: true, 1290: true, 1792: true, 1836: true,
	1317: true, 1927: true, 1969: true, 2006: true, 2013: true, 3024: true, 4031: true}

// wrapf returns the error "mysql: <what>: <err>", also wrapping
// revoke.ErrUnavailable when err says the server cannot serve now.
func wrapf(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if isUnavailable(err) {
		return fmt.Errorf("mysql: %s: %w (%w)", what, err, revoke.ErrUnavailable)
	}
	return fmt.Errorf("mysql: %s: %w", what, err)
}

// isUnavailable reports whether a driver error means the server cannot
// serve now; the caller's context ending is not one.
func isUnavailable(err error) bool {
	var me *mysql.MySQLError
	var ne net.Error
	switch {
	case errors.Is(err, errStatementTimeout):
		return true
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.As(err, &me):
		return unavailable[me.Number]
	}
	return errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, mysql.ErrInvalidConn)
}
