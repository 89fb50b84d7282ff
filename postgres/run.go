package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// run runs fn in a transaction of its own connection, a write transaction
// if write is set.
func (s *Store) run(ctx context.Context, write bool, fn func(revoke.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return fmt.Errorf("postgres: %w", revoke.ErrClosed)
	}
	if s.db == nil {
		return errZeroStore
	}
	if write && s.opts.readOnly {
		return fmt.Errorf("postgres: Update: %w: the Store was opened WithReadOnly", ErrReadOnly)
	}
	return s.runTx(ctx, write, fn)
}

// runTx begins the transaction on a connection of the pool, runs fn in it,
// and commits it or rolls it back.
func (s *Store) runTx(ctx context.Context, write bool, fn func(revoke.Tx) error) error {
	c, err := s.db.Connx(ctx)
	if err != nil {
		return wrapf(err, "connecting")
	}
	ended := false
	defer func() {
		if !ended {
			// fn panicked: the connection is closed, which rolls back.
			discard(c)
		}
		_ = c.Close()
	}()
	begin := s.beginRead
	if write {
		begin = s.beginWrite
	}
	if _, err := c.ExecContext(ctx, begin); err != nil {
		ended = true
		s.abort(ctx, c)
		return s.ctxErr(ctx, wrapf(err, "begin"))
	}
	t := &tx{s: s, conn: c, TxState: sqlrecord.TxState{Ctx: ctx, Write: write}}
	err = fn(t)
	t.Done = true
	ended = true
	if err == nil {
		if cerr := ctx.Err(); cerr != nil {
			err = fmt.Errorf("postgres: transaction: %w", cerr)
		}
	}
	if err != nil || !write {
		s.abort(ctx, c)
		return err
	}
	return s.commit(ctx, c, t.seq)
}

// commit commits the transaction on c, with a NOTIFY of seq if it is not 0.
func (s *Store) commit(ctx context.Context, c *sqlx.Conn, seq uint64) error {
	commit := "COMMIT"
	if seq != 0 {
		// The notification is delivered when, and only if, the
		// transaction commits.
		commit = "SELECT pg_notify('" + s.channel + "', '" + strconv.FormatUint(seq, 10) + "'); COMMIT"
	}
	// COMMIT, once sent, runs to completion whatever ctx says, within the
	// statement timeout.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.stmtTimeout)
	defer cancel()
	if _, err := c.ExecContext(cctx, commit); err != nil {
		discard(c)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			// No answer from the server: whether it committed is
			// unknown. The write is not acknowledged, nor run again
			// (see revoke.Store).
			return fmt.Errorf("postgres: commit: outcome unknown: %w (%w)", err, revoke.ErrUnavailable)
		}
		// The server answered with an error: it rolled back.
		return wrapf(err, "commit")
	}
	return nil
}

// abort ends the transaction on c without committing it. When ctx is done
// it closes c, which ends the transaction as well, rather than wait for a
// ROLLBACK that a server that does not answer would hold past ctx.
func (s *Store) abort(ctx context.Context, c *sqlx.Conn) {
	if ctx.Err() != nil {
		discard(c)
		return
	}
	s.rollback(c)
}

// rollback ends the transaction on c, or discards c when that fails.
func (s *Store) rollback(c *sqlx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.stmtTimeout)
	defer cancel()
	if _, err := c.ExecContext(ctx, "ROLLBACK"); err != nil {
		discard(c)
	}
}

// ctxErr returns ctx's error, wrapped, if ctx is done, else err: pgx
// reports a statement interrupted by ctx in its own words.
func (s *Store) ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%w)", err, cerr)
	}
	return err
}

// discard makes database/sql close c rather than pool it: its state is
// unknown.
func discard(c *sqlx.Conn) {
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
}
