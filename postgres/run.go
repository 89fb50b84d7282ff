package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// conflictPause bounds the random pause before a write transaction that
// rolled back for a conflict runs again; it grows by this much with each
// run, up to conflictPauseMax.
const (
	conflictPause    = time.Millisecond
	conflictPauseMax = 20 * time.Millisecond
)

// run runs fn in a transaction of a connection of its own, a write
// transaction if write is set, and commits it or rolls it back. A write
// transaction that the server rolled back for a conflict with another
// (see conflicted) runs again, fn with it, after a random pause, for as
// long as the lock timeout allows since its first run: the server said it
// kept nothing, and each conflict is with another transaction that holds
// what this one needs or has just committed.
// Past the lock timeout the conflict is returned, as a lock wait that
// long would be.
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
	giveUp := time.Now().Add(s.opts.lockTimeout)
	for n := 1; ; n++ {
		err := s.runOnce(ctx, write, fn)
		if !write || !conflicted(err) || ctx.Err() != nil || time.Now().After(giveUp) {
			return err
		}
		// Let the transaction it conflicted with end, at a random
		// moment, so that the two do not meet again.
		select {
		case <-ctx.Done():
			return err
		case <-time.After(rand.N(min(time.Duration(n)*conflictPause, conflictPauseMax))):
		}
	}
}

// errSeqMoved fails a commit whose claim of the sequence numbers it drew
// found that another transaction had claimed numbers since they were
// drawn: it rolled back, and runs again.
var errSeqMoved = errors.New("another transaction claimed revocation sequence numbers first")

// errLockBusy fails a transaction that, past its first statement, found a
// grant lock it needed held by another (see tx.lockStmt): it rolled back,
// and runs again.
var errLockBusy = errors.New("a grant's lock is held by another transaction")

// conflicted reports whether err says the server rolled the transaction
// back for a conflict with another: a deadlock, a serialization failure,
// a record inserted first by another (a unique violation: a Put inserts
// only what a Get of the transaction found absent), sequence numbers
// claimed first (errSeqMoved) or a grant's lock taken (errLockBusy).
func conflicted(err error) bool {
	var pe *pgconn.PgError
	return errors.Is(err, errSeqMoved) || errors.Is(err, errLockBusy) ||
		errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001" || pe.Code == "23505")
}

func (s *Store) runOnce(ctx context.Context, write bool, fn func(revoke.Tx) error) error {
	c, err := s.db.Connx(ctx)
	if err != nil {
		return wrapf(err, "connecting")
	}
	defer c.Close()
	var pc *pgx.Conn
	// The pool is pgx's: Open makes it, New checks it. The driver
	// connection is used while c is held, by this goroutine alone.
	_ = c.Raw(func(dc any) error { pc = dc.(*stdlib.Conn).Conn(); return nil })
	t := &tx{s: s, conn: c, pc: pc, TxState: sqlrecord.TxState{Ctx: ctx, Write: write}, ahead: beginStmts(s.beginRead)}
	if write {
		t.ahead = beginStmts(s.beginWrite)
		t.absent, t.locked = make(map[revoke.ID]bool), make(map[revoke.ID]bool)
	}
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
		if t.begun {
			s.abort(ctx, c)
		}
		return err
	}
	return s.commit(ctx, t)
}

// beginStmts returns the statements of a BEGIN, for tx.ahead.
func beginStmts(begin []stmt) []stmt { return append([]stmt(nil), begin...) }

// commit sends the transaction's Puts not yet sent, a NOTIFY of its
// sequence number if it has one (which the server delivers if and only if
// the transaction commits) and COMMIT, in one round trip: the only one of
// a transaction that only wrote, after BEGIN in the same pipeline.
func (s *Store) commit(ctx context.Context, t *tx) error {
	if !t.begun && len(t.ahead) == len(s.beginWrite) {
		return nil // nothing read, written or drawn
	}
	stmts := t.ahead
	t.ahead = nil
	if t.drawn != 0 {
		stmts = append(stmts, stmt{s.q.claimSeq, []any{t.base, int64(max(t.drawn, t.imported))}, "claiming the sequence numbers"})
	}
	if t.seq != 0 {
		stmts = append(stmts, stmt{"SELECT pg_notify($1, $2)", []any{s.feed.channel, strconv.FormatUint(t.seq, 10)}, "notify"})
	}
	stmts = append(stmts, stmt{"COMMIT", nil, "commit"})
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.stmtTimeout)
	defer cancel()
	b := &pgx.Batch{}
	for _, st := range stmts {
		b.Queue(st.sql, st.args...)
	}
	br := t.pc.SendBatch(cctx, b)
	var err error
	var tag pgconn.CommandTag // the COMMIT's, the last statement
	what := ""
	for _, st := range stmts {
		ct, e := br.Exec()
		if e != nil && err == nil {
			err, what = e, st.what
		}
		tag = ct
	}
	if e := br.Close(); e != nil && err == nil {
		err, what = e, "commit"
	}
	if err == nil && tag.String() != "COMMIT" {
		// A statement of the transaction failed and fn went on: the
		// server answered the COMMIT with a ROLLBACK.
		return errors.New("postgres: commit: the server rolled the transaction back: one of its statements had failed")
	}
	if err == nil {
		return nil
	}
	discard(t.conn)
	var pe *pgconn.PgError
	switch {
	case !errors.As(err, &pe):
		// No answer from the server: whether it committed is unknown
		// (see revoke.Store).
		return fmt.Errorf("postgres: commit: outcome unknown: %w (%w)", err, revoke.ErrUnavailable)
	case pe.Code == "22012" && what == "claiming the sequence numbers":
		return fmt.Errorf("postgres: commit: %w (%w)", errSeqMoved, revoke.ErrUnavailable)
	}
	return wrapf(err, "%s", what) // the server rolled back
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
