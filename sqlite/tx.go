package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/internal/sqlrecord"
	"github.com/sdkauth/revocation/revoke"
)

// tx is a transaction of a Store, bound to the connection that began it.
type tx struct {
	s    *Store
	conn *sqlx.Conn
	sqlrecord.TxState

	// The sequence counter, read from the meta table at the first NextSeq
	// and written back once, by flush, before the commit.
	seq       uint64
	seqLoaded bool
	seqDirty  bool

	// Statements prepared at first use and reused for the rest of the
	// transaction (a cascade puts every member of a grant, a purge deletes
	// a batch).
	getStmt    *sqlx.Stmt
	locStmt    *sqlx.Stmt
	putStmt    *sqlx.Stmt
	putAllStmt *sqlx.Stmt
	delKeyStmt *sqlx.Stmt
	addStmt    *sqlx.Stmt // owners
	dropStmt   [3]*sqlx.Stmt
	keyStmt    *sqlx.Stmt // grants
	nextStmt   *sqlx.Stmt
	rootStmt   *sqlx.Stmt
	newStmt    *sqlx.Stmt
	keepStmt   *sqlx.Stmt
	dropGStmt  *sqlx.Stmt
	seqKeyStmt *sqlx.Stmt // SetSeq's
	seqIDStmt  *sqlx.Stmt

	// grantKeys holds, in a write transaction, the keys of grants the
	// transaction has looked up or created.
	grantKeys map[revoke.ID]int64

	// owned holds the owners rows the transaction knows to be there.
	owned map[ownerRow]bool

	// known holds, in a write transaction, what the transaction has seen
	// of the rows of IDs: from Get and Expired, and from its own Put and
	// Delete. No one else writes while the transaction holds the write
	// lock, so it stays true until the transaction ends. Put uses it to
	// find the row it replaces without a query of its own: the Revoker
	// reads every record it Puts in the same transaction.
	known map[revoke.ID]stored

	// read holds, in a write transaction, the rows of the grant Grant
	// read last, until the next Put or Delete, and readKey the grant's
	// key: SetSeq finds a cascade's rows by key through them, where an
	// entry per row in known would cost a cascade of a thousand tokens
	// more than the statements it saves.
	read    sqlrecord.GrantRows
	readKey int64
}

// ownerRow is a row of the owners table.
type ownerRow struct {
	by    revoke.Owner
	key   string
	grant revoke.ID
}

// stored is what a write transaction knows of the row of an ID: whether
// there is one and, if so, its grant and expiry, which make up the row's
// key and its expiry index entry.
type stored struct {
	present bool
	gkey    int64 // the grant's key, the first half of the row's key
	grant   revoke.ID
	expires int64 // expires_at
	// client and subject are indexed too: a change of either needs
	// putAll.
	client, subject string
}

// saw records the row r, read in a write transaction.
func (t *tx) saw(r *row) {
	if t.Write {
		t.grantKeys[revoke.ID(r.Grant)] = r.GKey
		t.known[revoke.ID(r.ID)] = stored{present: true, gkey: r.GKey, grant: revoke.ID(r.Grant), expires: r.ExpiresAt, client: r.ClientID, subject: r.Subject}
	}
}

var _ revoke.Tx = (*tx)(nil)

// check returns why the transaction cannot run op: it has ended, or a
// context is done.
func (t *tx) check(ctx context.Context, op string, write bool) error {
	return t.Check(ctx, "sqlite", op, write)
}

// end closes the prepared statements and invalidates the Tx.
func (t *tx) end() {
	if t.Done {
		return
	}
	t.Done = true
	for _, st := range []*sqlx.Stmt{t.getStmt, t.locStmt, t.delKeyStmt, t.addStmt, t.dropStmt[1], t.dropStmt[2], t.putStmt, t.putAllStmt, t.keyStmt, t.nextStmt, t.rootStmt, t.newStmt, t.keepStmt, t.dropGStmt, t.seqKeyStmt, t.seqIDStmt} {
		if st != nil {
			_ = st.Close()
		}
	}
	t.getStmt, t.locStmt, t.delKeyStmt = nil, nil, nil
	t.addStmt, t.dropStmt = nil, [3]*sqlx.Stmt{}
	t.keyStmt, t.nextStmt, t.rootStmt, t.newStmt, t.keepStmt, t.dropGStmt = nil, nil, nil, nil, nil, nil
	t.grantKeys = nil
	t.putStmt, t.putAllStmt = nil, nil
	t.seqKeyStmt, t.seqIDStmt = nil, nil
	t.known, t.owned = nil, nil
	t.read.Reset()
}

// prepare returns *st, preparing query on the transaction's connection at
// the first call.
func (t *tx) prepare(ctx context.Context, st **sqlx.Stmt, query string) (*sqlx.Stmt, error) {
	if *st == nil {
		p, err := t.conn.PreparexContext(ctx, query)
		if err != nil {
			return nil, err
		}
		*st = p
	}
	return *st, nil
}

// Get returns the record whose ID is id; found is false if there is none.
func (t *tx) Get(ctx context.Context, id revoke.ID) (revoke.Record, bool, error) {
	if err := t.check(ctx, "Get", false); err != nil {
		return revoke.Record{}, false, err
	}
	r, found, err := t.get(ctx, id)
	if err != nil || !found {
		return revoke.Record{}, false, err
	}
	rec, err := r.record()
	if err != nil {
		return revoke.Record{}, false, err
	}
	return rec, true, nil
}

// get reads the row of id, by primary key if it starts its grant, else
// through the index on id, in one statement.
func (t *tx) get(ctx context.Context, id revoke.ID) (row, bool, error) {
	st, err := t.prepare(ctx, &t.getStmt, t.s.q.get)
	if err != nil {
		return row{}, false, wrapf(err, "Get")
	}
	var r row
	err = st.QueryRowContext(ctx, id[:]).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		if t.Write {
			t.known[id] = stored{}
		}
		return row{}, false, nil
	}
	if err != nil {
		return row{}, false, wrapf(err, "Get")
	}
	t.saw(&r)
	return r, true, nil
}

// locate reads the key and expiry of the row of id, if there is one, as
// get does.
func (t *tx) locate(ctx context.Context, id revoke.ID) (stored, error) {
	st, err := t.prepare(ctx, &t.locStmt, t.s.q.locate)
	if err != nil {
		return stored{}, err
	}
	var (
		grant idValue
		old   = stored{present: true}
	)
	err = st.QueryRowContext(ctx, id[:]).Scan(&old.gkey, &grant, &old.expires, &old.client, &old.subject)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return stored{}, nil
	case err != nil:
		return stored{}, err
	}
	old.grant = revoke.ID(grant)
	return old, nil
}

// Put inserts rec or replaces the record with its ID. The table's indexes
// follow in the same statement.
//
// Put finds the row it replaces, if any, in what the transaction knows (see
// tx.known), else with a query like Get's. A new record is inserted, and a
// record of the same grant and expiry, such as a revocation, rewritten in
// place, in one statement each. A record that moves to another grant has
// another key: its old row is deleted first.
func (t *tx) Put(ctx context.Context, rec revoke.Record) error {
	if err := t.check(ctx, "Put", true); err != nil {
		return err
	}
	r, err := rowOf(rec)
	if err != nil {
		return err
	}
	t.read.Reset()
	old, ok := t.known[rec.ID]
	if !ok {
		if old, err = t.locate(ctx, rec.ID); err != nil {
			return wrapf(err, "Put")
		}
	}
	// Until Put succeeds the row is unknown: a failed statement may or
	// may not have changed it.
	delete(t.known, rec.ID)
	moved := old.present && old.grant != rec.Grant
	query, stmt := t.s.q.put, &t.putStmt
	r.GKey = old.gkey
	if !old.present || moved {
		if r.GKey, err = t.keyOf(ctx, rec.Grant, rec.Grant == rec.ID); err != nil {
			return wrapf(err, "Put")
		}
	}
	switch {
	case moved:
		st, err := t.prepare(ctx, &t.delKeyStmt, t.s.q.delKey)
		if err != nil {
			return wrapf(err, "Put")
		}
		if _, err := st.ExecContext(ctx, old.gkey, rec.ID[:]); err != nil {
			return wrapf(err, "Put")
		}
	case old.present && (old.expires != r.ExpiresAt || old.client != rec.ClientID || old.subject != rec.Subject):
		query, stmt = t.s.q.putAll, &t.putAllStmt
	}
	st, err := t.prepare(ctx, stmt, query)
	if err != nil {
		return wrapf(err, "Put")
	}
	if _, err := st.ExecContext(ctx, r.args()...); err != nil {
		// A new key, taken from the greatest in use, is not in use yet.
		delete(t.grantKeys, rec.Grant)
		return wrapf(err, "Put")
	}
	next := stored{present: true, gkey: r.GKey, grant: rec.Grant, expires: r.ExpiresAt, client: rec.ClientID, subject: rec.Subject}
	if err := t.keepOwners(ctx, old, next, rec.Parent); err != nil {
		return wrapf(err, "Put")
	}
	if moved {
		if err := t.dropGrant(ctx, old, rec.ID); err != nil {
			return wrapf(err, "Put")
		}
	}
	t.known[rec.ID] = next
	if rec.Seq != 0 {
		return t.raiseSeq(ctx, rec.Seq)
	}
	return nil
}

// keyOf returns the key of grant (see migration 4), giving it the next
// one if it has none. root says the token about to be put is the grant's
// first: its row holds the key, and the grant needs no grants row.
func (t *tx) keyOf(ctx context.Context, grant revoke.ID, root bool) (int64, error) {
	if k, ok := t.grantKeys[grant]; ok {
		return k, nil
	}
	if root {
		// Put gives a root only for a token it found absent, or in another
		// grant: grantKey's second part cannot match.
		st, err := t.prepare(ctx, &t.rootStmt, t.s.q.rootKey)
		if err != nil {
			return 0, err
		}
		var k int64
		if err := st.QueryRowContext(ctx, grant[:]).Scan(&k); err != nil {
			return 0, err
		}
		t.grantKeys[grant] = k
		return k, nil
	}
	st, err := t.prepare(ctx, &t.keyStmt, t.s.q.grantKey)
	if err != nil {
		return 0, err
	}
	var k int64
	err = st.QueryRowContext(ctx, grant[:]).Scan(&k)
	if errors.Is(err, sql.ErrNoRows) {
		if st, err = t.prepare(ctx, &t.nextStmt, t.s.q.nextKey); err != nil {
			return 0, err
		}
		if err = st.QueryRowContext(ctx).Scan(&k); err == nil {
			if st, err = t.prepare(ctx, &t.newStmt, t.s.q.newGrant); err == nil {
				_, err = st.ExecContext(ctx, k, grant[:])
			}
		}
	}
	if err != nil {
		return 0, err
	}
	t.grantKeys[grant] = k
	return k, nil
}

// dropGrant keeps the grants row of old's grant in step once old's row,
// with the key, id, is gone: it adds one if old was the grant's first
// token and others stay, and removes it if no token of the grant is left.
func (t *tx) dropGrant(ctx context.Context, old stored, id revoke.ID) error {
	delete(t.grantKeys, old.grant)
	if old.grant == id {
		st, err := t.prepare(ctx, &t.keepStmt, t.s.q.keepGrant)
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, old.gkey, old.grant[:]); err != nil {
			return err
		}
	}
	st, err := t.prepare(ctx, &t.dropGStmt, t.s.q.dropGrant)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, old.gkey)
	return err
}

// Delete removes the record whose ID is id, if there is one: by its key if
// the transaction knows its grant, else with a query that searches both the
// primary key and the index on id.
func (t *tx) Delete(ctx context.Context, id revoke.ID) error {
	if err := t.check(ctx, "Delete", true); err != nil {
		return err
	}
	t.read.Reset()
	old, ok := t.known[id]
	if !ok {
		var err error
		if old, err = t.locate(ctx, id); err != nil {
			return wrapf(err, "Delete")
		}
	}
	if !old.present {
		t.known[id] = stored{}
		return nil
	}
	delete(t.known, id)
	st, err := t.prepare(ctx, &t.delKeyStmt, t.s.q.delKey)
	if err == nil {
		_, err = st.ExecContext(ctx, old.gkey, id[:])
	}
	if err == nil {
		err = t.keepOwners(ctx, old, stored{}, revoke.ID{})
	}
	if err == nil {
		err = t.dropGrant(ctx, old, id)
	}
	if err != nil {
		return wrapf(err, "Delete")
	}
	t.known[id] = stored{}
	return nil
}

// keepOwners keeps the owners table in step with a row of tokens that was
// old and is now next (either may be absent), after the change: it adds
// the rows of next's subject and client in its grant, and removes those of
// old's that no token of old's grant has any more. A row known to be there
// is not added again: one the transaction added or saw, or one that
// parent, next's parent, known to the transaction in next's grant with
// next's subject and client, holds.
func (t *tx) keepOwners(ctx context.Context, old, next stored, parent revoke.ID) error {
	if sameOwners(old, next) {
		return nil
	}
	if next.present {
		if err := t.addOwners(ctx, next, parent); err != nil {
			return err
		}
	}
	if old.present {
		return t.dropOwners(ctx, old, next)
	}
	return nil
}

// sameOwners reports whether two states of a row are present with the same
// grant, client and subject: the owner rows they need are the same.
func sameOwners(a, b stored) bool {
	return a.present && b.present && a.grant == b.grant && a.client == b.client && a.subject == b.subject
}

// addOwners adds the owner rows next needs. Those of a grant whose parent
// row (known to the transaction) has the same owners are there already.
func (t *tx) addOwners(ctx context.Context, next stored, parent revoke.ID) error {
	if p, ok := t.known[parent]; !parent.IsZero() && ok && sameOwners(p, next) {
		t.owned[ownerRow{revoke.ByClient, next.client, next.grant}] = true
		if next.subject != "" {
			t.owned[ownerRow{revoke.BySubject, next.subject, next.grant}] = true
		}
	}
	if err := t.addOwner(ctx, ownerRow{revoke.ByClient, next.client, next.grant}); err != nil {
		return err
	}
	if next.subject == "" {
		return nil
	}
	return t.addOwner(ctx, ownerRow{revoke.BySubject, next.subject, next.grant})
}

// dropOwners drops the owner rows of old that next no longer needs.
func (t *tx) dropOwners(ctx context.Context, old, next stored) error {
	moved := !next.present || old.grant != next.grant
	if moved || old.client != next.client {
		if err := t.dropOwner(ctx, ownerRow{revoke.ByClient, old.client, old.grant}, old.gkey); err != nil {
			return err
		}
	}
	if old.subject != "" && (moved || old.subject != next.subject) {
		return t.dropOwner(ctx, ownerRow{revoke.BySubject, old.subject, old.grant}, old.gkey)
	}
	return nil
}

// addOwner adds the owners row o unless the transaction knows it is there.
func (t *tx) addOwner(ctx context.Context, o ownerRow) error {
	if t.owned[o] {
		return nil
	}
	st, err := t.prepare(ctx, &t.addStmt, t.s.q.ownerAdd)
	if err != nil {
		return err
	}
	// Until the statement succeeds the row is unknown.
	if _, err := st.ExecContext(ctx, int64(o.by), o.key, o.grant[:]); err != nil {
		return err
	}
	t.owned[o] = true
	return nil
}

// dropOwner removes the owners row o unless a token of its grant, whose
// key is gkey, still has its subject or client.
func (t *tx) dropOwner(ctx context.Context, o ownerRow, gkey int64) error {
	query := t.s.q.dropClient
	if o.by == revoke.BySubject {
		query = t.s.q.dropSubject
	}
	delete(t.owned, o)
	st, err := t.prepare(ctx, &t.dropStmt[o.by], query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, o.key, o.grant[:], gkey)
	return err
}

// Grant calls fn for every record of the grant, a range of the primary
// key, as it reads them.
func (t *tx) Grant(ctx context.Context, grant revoke.ID, fn func(revoke.Record) error) error {
	if err := t.check(ctx, "Grant", false); err != nil {
		return err
	}
	if !t.Write {
		return t.each(ctx, "Grant", fn, func(*row) {}, t.s.q.grant, grant[:])
	}
	// The rows go to t.read rather than t.known. They share one key: the
	// query reads one key's range.
	t.read.Reset()
	return t.each(ctx, "Grant", fn, func(r *row) {
		t.grantKeys[revoke.ID(r.Grant)] = r.GKey
		t.readKey = r.GKey
		t.read.Add(revoke.ID(r.ID))
	}, t.s.q.grant, grant[:])
}

// Expired calls fn for at most limit records that expire before before,
// found through the expiry index, as it reads them.
func (t *tx) Expired(ctx context.Context, before time.Time, limit int, fn func(revoke.Record) error) error {
	if err := t.check(ctx, "Expired", false); err != nil {
		return err
	}
	if limit <= 0 {
		return nil
	}
	return t.each(ctx, "Expired", fn, t.saw, t.s.q.expired, sqlrecord.ClampNano(before), limit)
}

// each runs query, whose columns are rowColumns, and calls fn for the
// record of each row as it is read, after note. Rows are
// scanned by position into one row value: a grant's cascade reads a
// thousand rows, and reflection or a value per row would cost more than
// the query.
func (t *tx) each(ctx context.Context, op string, fn func(revoke.Record) error, note func(*row), query string, args ...any) error {
	rs, err := t.conn.QueryContext(ctx, query, args...)
	if err != nil {
		return wrapf(err, "%s", op)
	}
	defer rs.Close()
	var r row
	dest := r.dest()
	for rs.Next() {
		r = row{}
		if err := rs.Scan(dest...); err != nil {
			return wrapf(err, "%s", op)
		}
		rec, err := r.record()
		if err != nil {
			return err
		}
		note(&r)
		if err := fn(rec); err != nil {
			return err
		}
	}
	if err := rs.Err(); err != nil {
		return wrapf(err, "%s", op)
	}
	return nil
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
	rows, err := t.conn.QueryxContext(ctx, t.s.q.revokedSince, int64(seq))
	if err != nil {
		return wrapf(err, "RevokedSince")
	}
	defer rows.Close()
	var r revRow
	for rows.Next() {
		if err := rows.StructScan(&r); err != nil {
			return wrapf(err, "RevokedSince")
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
		return wrapf(err, "RevokedSince")
	}
	return nil
}

// NextSeq returns the next revocation sequence number. The counter lives in
// the meta table; it is read once, in this write-locked transaction, so no
// other process can hand out the same numbers, and written back by flush.
func (t *tx) NextSeq(ctx context.Context) (uint64, error) {
	if err := t.check(ctx, "NextSeq", true); err != nil {
		return 0, err
	}
	if !t.seqLoaded {
		var v int64
		if err := t.conn.GetContext(ctx, &v, t.s.q.getSeq); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return 0, fmt.Errorf("%w: table %smeta has no sequence row", ErrCorrupt, t.s.q.prefix)
			}
			return 0, wrapf(err, "NextSeq")
		}
		if v < 0 {
			return 0, fmt.Errorf("%w: negative sequence %d in table %smeta", ErrCorrupt, v, t.s.q.prefix)
		}
		t.seq, t.seqLoaded = uint64(v), true
	}
	if t.seq >= math.MaxInt64 {
		return 0, errors.New("sqlite: NextSeq: the revocation sequence is exhausted")
	}
	t.seq++
	t.seqDirty = true
	return t.seq, nil
}

// flush writes the sequence counter back if NextSeq moved it.
func (t *tx) flush(ctx context.Context) error {
	if !t.seqDirty {
		return nil
	}
	if _, err := t.conn.ExecContext(ctx, t.s.q.setSeq, int64(t.seq)); err != nil {
		return wrapf(err, "writing the sequence")
	}
	return nil
}

// Grants calls fn for at most limit grants of the subject or client key
// above after, in ascending order, read from a range of the owners table.
func (t *tx) Grants(ctx context.Context, by revoke.Owner, key string, after revoke.ID, limit int, fn func(revoke.ID) error) error {
	if err := t.check(ctx, "Grants", false); err != nil {
		return err
	}
	query, none, err := sqlrecord.GrantsQuery("sqlite", by, key, limit, t.s.q.subjectGrants, t.s.q.clientGrants)
	if none || err != nil {
		return err
	}
	var grants []idValue
	if err := t.conn.SelectContext(ctx, &grants, query, key, after[:], limit); err != nil {
		return wrapf(err, "Grants")
	}
	for _, g := range grants {
		if err := fn(revoke.ID(g)); err != nil {
			return err
		}
	}
	return nil
}
