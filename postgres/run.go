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

// run runs fn in a transaction of a connection of its own, a write
// transaction if write is set, and commits it or rolls it back.
func (s *Store) run(ctx context.Context, write bool, fn func(revoke.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.usable(); err != nil {
		return err
	}
	if write && s.opts.readOnly {
		return fmt.Errorf("postgres: Update: the Store was opened WithReadOnly: %w", revoke.ErrReadOnly)
	}
	c, err := s.db.Connx(ctx)
	if err != nil {
		return wrapf(err, "connecting")
	}
	defer c.Close()
	begin := s.beginRead
	if write {
		begin = s.beginWrite
	}
	if _, err := c.ExecContext(ctx, begin); err != nil {
		s.abort(ctx, c)
		return withCtx(ctx, wrapf(err, "begin"))
	}
	t := &tx{s: s, conn: c, TxState: sqlrecord.TxState{Ctx: ctx, Write: write}}
	ended := false
	defer func() {
		if !ended { // fn panicked: closing the connection rolls back
			discard(c)
		}
	}()
	err = fn(t)
	t.Done, ended = true, true
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("postgres: transaction: %w", ctx.Err())
	}
	if err != nil || !write {
		s.abort(ctx, c)
		return err
	}
	return s.commit(ctx, c, t.seq)
}

// commit commits the transaction on c, with a NOTIFY of seq if it is not 0,
// which the server delivers if and only if the transaction commits.
func (s *Store) commit(ctx context.Context, c *sqlx.Conn, seq uint64) error {
	commit := "COMMIT"
	if seq != 0 {
		commit = "SELECT pg_notify('" + s.feed.channel + "', '" + strconv.FormatUint(seq, 10) + "'); COMMIT"
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.stmtTimeout)
	defer cancel()
	if _, err := c.ExecContext(cctx, commit); err != nil {
		discard(c)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) {
			// No answer from the server: whether it committed is unknown
			// (see revoke.Store).
			return fmt.Errorf("postgres: commit: outcome unknown: %w (%w)", err, revoke.ErrUnavailable)
		}
		return wrapf(err, "commit") // the server rolled back
	}
	return nil
}

// abort rolls back the transaction on c, or closes c, which rolls back too,
// when ctx is done (rather than wait for a server that may not answer) or
// the ROLLBACK fails.
func (s *Store) abort(ctx context.Context, c *sqlx.Conn) {
	if ctx.Err() != nil {
		discard(c)
		return
	}
	rctx, cancel := context.WithTimeout(context.Background(), s.opts.stmtTimeout)
	defer cancel()
	if _, err := c.ExecContext(rctx, "ROLLBACK"); err != nil {
		discard(c)
	}
}

// withCtx returns err, wrapping ctx's error too if ctx is done: pgx reports
// a statement interrupted by ctx in its own words.
func withCtx(ctx context.Context, err error) error {
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
