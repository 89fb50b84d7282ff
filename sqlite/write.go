package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/sdkauth/revocation/revoke"
)

// stmts are the statements one call of a write method prepares on the
// transaction's connection, at their first use, to run them for each of
// its records; close releases them.
type stmts struct {
	t     *tx
	bySQL map[string]*sql.Stmt
}

func (t *tx) stmts() *stmts { return &stmts{t: t, bySQL: make(map[string]*sql.Stmt)} }

func (s *stmts) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, ok := s.bySQL[query]
	if !ok {
		var err error
		if st, err = s.t.conn.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		s.bySQL[query] = st
	}
	return st.ExecContext(ctx, args...)
}

func (s *stmts) close() {
	for _, st := range s.bySQL {
		_ = st.Close()
	}
}

// Put writes each record with prepared statements, and raises the
// sequence counter to the greatest Seq written (an import's). A record
// whose row is there with the same expiry (a revocation, a rotation) is
// rewritten in place by update; otherwise insert adds or replaces its row,
// adds its grant's owners rows if missing and, while the grant's first
// token is not stored, records the grant's key in the grants table.
func (t *tx) Put(ctx context.Context, recs []revoke.Record) error {
	if err := t.check(ctx, "Put", true); err != nil {
		return err
	}
	st := t.stmts()
	defer st.close()
	var top uint64
	for _, rec := range recs {
		if err := t.put(ctx, st, rec); err != nil {
			return err
		}
		top = max(top, rec.Seq)
	}
	if top == 0 {
		return nil
	}
	_, err := st.exec(ctx, t.s.q.raiseSeq, int64(top))
	return wrapf(err, "Put: raising the sequence")
}

func (t *tx) put(ctx context.Context, st *stmts, rec revoke.Record) error {
	args, err := argsOf(rec)
	if err != nil {
		return err
	}
	res, err := st.exec(ctx, t.s.q.update, args...)
	if err != nil {
		return wrapf(err, "Put")
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return wrapf(err, "Put")
	}
	if _, err := st.exec(ctx, t.s.q.insert, args...); err != nil {
		return wrapf(err, "Put")
	}
	if _, err := st.exec(ctx, t.s.q.addOwners, rec.ClientID, rec.Subject, rec.Grant[:]); err != nil || rec.ID == rec.Grant {
		return wrapf(err, "Put: owners")
	}
	_, err = st.exec(ctx, t.s.q.addGrant, rec.ID[:], rec.Grant[:])
	return wrapf(err, "Put: grant")
}

// gone is what Delete keeps of a grant it removed rows of.
type gone struct {
	grant           revoke.ID
	root            bool // the grant's first token was among the rows
	client, subject string
}

// Delete removes the rows of ids, in a statement per chunk, and then, for
// each grant it removed rows of, the grant's rows in grants and owners if
// no token of it is left, or records its key in grants if its first token
// went and others stay.
func (t *tx) Delete(ctx context.Context, ids []revoke.ID) error {
	if err := t.check(ctx, "Delete", true); err != nil {
		return err
	}
	grants := make(map[int64]gone)
	err := chunks(ids, nil, func(n int, args []any) error {
		return t.rows(ctx, "Delete", t.s.q.deleteQuery(n), args, func(rs *sql.Rows) error {
			var (
				gkey      int64
				grant, id idValue
				g         gone
			)
			if err := rs.Scan(&gkey, &grant, &id, &g.client, &g.subject); err != nil {
				return wrapf(err, "Delete")
			}
			g.grant, g.root = revoke.ID(grant), grant == id || grants[gkey].root
			grants[gkey] = g
			return nil
		})
	})
	if err != nil {
		return err
	}
	st := t.stmts()
	defer st.close()
	for gkey, g := range grants {
		if err := t.release(ctx, st, gkey, g); err != nil {
			return wrapf(err, "Delete")
		}
	}
	return nil
}

// release keeps the grants and owners rows of g, whose key is gkey, in
// step once Delete removed rows of it.
func (t *tx) release(ctx context.Context, st *stmts, gkey int64, g gone) error {
	var left int64
	if err := t.conn.QueryRowContext(ctx, t.s.q.left, gkey).Scan(&left); err != nil {
		return err
	}
	var err error
	switch {
	case left == 0:
		if _, err = st.exec(ctx, t.s.q.dropGrant, gkey); err == nil {
			_, err = st.exec(ctx, t.s.q.dropOwners, g.client, g.subject, g.grant[:])
		}
	case g.root:
		_, err = st.exec(ctx, t.s.q.keepGrant, gkey, g.grant[:])
	}
	return err
}

// RevokeGrants runs one UPDATE per chunk of grants, which returns the
// index entries.
func (t *tx) RevokeGrants(ctx context.Context, seq uint64, grants []revoke.ID) ([]revoke.Revocation, error) {
	if err := t.check(ctx, "RevokeGrants", true); err != nil {
		return nil, err
	}
	if seq == 0 || seq > math.MaxInt64 {
		return nil, fmt.Errorf("sqlite: RevokeGrants: sequence number %d is outside [1, %d]", seq, int64(math.MaxInt64))
	}
	var revs []revoke.Revocation
	err := chunks(grants, []any{int64(seq)}, func(n int, args []any) error {
		return t.revocations(ctx, "RevokeGrants", t.s.q.revokeQuery(n), args, func(rev revoke.Revocation) error {
			revs = append(revs, rev)
			return nil
		})
	})
	return revs, err
}

// NextSeq moves the counter of the meta table, in this write-locked
// transaction.
func (t *tx) NextSeq(ctx context.Context) (uint64, error) {
	if err := t.check(ctx, "NextSeq", true); err != nil {
		return 0, err
	}
	var v int64
	err := t.conn.QueryRowContext(ctx, t.s.q.nextSeq).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		// No row, a negative one, or the end of the sequence.
		err = t.conn.QueryRowContext(ctx, t.s.q.getSeq).Scan(&v)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return 0, fmt.Errorf("%w: table %smeta has no sequence row", errCorrupt, t.s.q.prefix)
		case err == nil && v < 0:
			return 0, fmt.Errorf("%w: negative sequence %d in table %smeta", errCorrupt, v, t.s.q.prefix)
		case err == nil:
			return 0, errors.New("sqlite: NextSeq: the revocation sequence is exhausted")
		}
	}
	if err != nil {
		return 0, wrapf(err, "NextSeq")
	}
	return uint64(v), nil
}
