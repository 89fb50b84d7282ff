package postgres

import (
	"context"
	"encoding/binary"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/sdkauth/revocation/revoke"
)

// revRows is what RevokedSince reads of the rows of a statement, through
// pgx's own interface or database/sql's.
type revRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// RevokedSince streams the revocations whose Seq is above seq, in Seq
// order, from the partial index on seq, one row at a time: a start-up load
// of millions of revocations never holds them all.
func (t *tx) RevokedSince(ctx context.Context, seq uint64, fn func(revoke.Revocation) error) error {
	if err := t.check(ctx, "RevokedSince", false); err != nil {
		return err
	}
	if seq >= math.MaxInt64 {
		return nil // no stored Seq is above it
	}
	// On a pgx connection (always, with Open), read the rows' binary
	// values in place: a start-up load of millions of revocations then
	// costs no allocation and no reflection per row.
	native := false
	err := t.conn.Raw(func(dc any) error {
		pc, ok := dc.(*stdlib.Conn)
		if !ok {
			return nil
		}
		native = true
		rows, err := pc.Conn().Query(ctx, t.s.q.revokedSince, int64(seq))
		if err != nil {
			return t.fail(ctx, "RevokedSince", err)
		}
		defer rows.Close()
		binary := true
		for _, fd := range rows.FieldDescriptions() {
			binary = binary && fd.Format == pgx.BinaryFormatCode
		}
		raw := func() [][]byte { return nil }
		if binary {
			raw = rows.RawValues
		}
		return t.eachRevocation(ctx, rows, raw, fn)
	})
	if native || err != nil {
		return err
	}
	rows, err := t.conn.QueryContext(ctx, t.s.q.revokedSince, int64(seq))
	if err != nil {
		return t.fail(ctx, "RevokedSince", err)
	}
	defer rows.Close()
	return t.eachRevocation(ctx, rows, func() [][]byte { return nil }, fn)
}

// eachRevocation calls fn with the revocation of every row of rows. raw
// returns the binary values of the current row, or nil when rows has none
// to offer.
func (t *tx) eachRevocation(ctx context.Context, rows revRows, raw func() [][]byte, fn func(revoke.Revocation) error) error {
	var r revRow
	for rows.Next() {
		if v := raw(); len(v) == 6 && len(v[1]) == 8 && len(v[2]) == 8 && len(v[3]) == 8 && len(v[4]) == 8 && len(v[5]) == 8 {
			r = revRow{
				ID:          v[0], // copied by revocation
				Check:       int64(binary.BigEndian.Uint64(v[1])),
				ExpiresAt:   int64(binary.BigEndian.Uint64(v[2])),
				Seq:         int64(binary.BigEndian.Uint64(v[3])),
				StatusList:  int64(binary.BigEndian.Uint64(v[4])),
				StatusIndex: int64(binary.BigEndian.Uint64(v[5])),
			}
		} else if err := rows.Scan(&r.ID, &r.Check, &r.ExpiresAt, &r.Seq, &r.StatusList, &r.StatusIndex); err != nil {
			return t.fail(ctx, "RevokedSince", err)
		}
		rev, err := r.revocation()
		if err != nil {
			return err
		}
		if err := fn(rev); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return t.fail(ctx, "RevokedSince", err)
	}
	return nil
}
