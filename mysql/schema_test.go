package mysql_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sdkauth/revocation/mysql"
	"github.com/sdkauth/revocation/revoke"
)

// TestOpensRace: eight processes' worth of Opens of one new prefix at once
// all succeed, and leave one set of tables at the current version, with
// one sequence counter.
func TestOpensRace(t *testing.T) {
	t.Parallel()
	prefix := freshPrefix(t)
	const n = 8
	stores := make([]*mysql.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { stores[i], errs[i] = mysql.Open(context.Background(), dsn, mysql.WithTablePrefix(prefix)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	db := admin(t)
	var rows []struct {
		Name  string `db:"name"`
		Value int64  `db:"value"`
	}
	if err := db.Select(&rows, "SELECT name, value FROM `"+prefix+"meta` ORDER BY name"); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Name != "schema_version" || rows[0].Value != 1 || rows[1].Name != "seq" || rows[1].Value != 0 {
		t.Errorf("meta table after racing Opens = %+v, want schema_version 1 and seq 0", rows)
	}
}

// TestNewerVersionRefused: tables a newer release migrated are refused
// with revoke.ErrVersion, and left as they are.
func TestNewerVersionRefused(t *testing.T) {
	t.Parallel()
	prefix := freshPrefix(t)
	open(t, prefix)
	db := admin(t)
	db.MustExec("UPDATE `" + prefix + "meta` SET value = 99 WHERE name = 'schema_version'")
	_, err := mysql.Open(context.Background(), dsn, mysql.WithTablePrefix(prefix))
	if !errors.Is(err, revoke.ErrVersion) {
		t.Errorf("Open of version 99 tables: %v, want ErrVersion", err)
	}
}

// TestCorruptRows: rows this package would not write are reported with
// revoke.ErrCorrupt.
func TestCorruptRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	prefix := freshPrefix(t)
	s := open(t, prefix)
	db := admin(t)
	id := revoke.TokenID("corrupt")
	rec := revoke.Record{ID: id, Grant: id, Kind: revoke.Refresh, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour), Seq: 3}
	if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) }); err != nil {
		t.Fatal(err)
	}
	for _, damage := range []string{"check_sum = -1", "status_idx = 1 << 40", "parent = 'short'", "kind = 300"} {
		db.MustExec("UPDATE `"+prefix+"tokens` SET "+damage+" WHERE id = ?", id[:])
		err := s.View(ctx, func(tx revoke.Tx) error {
			_, err := tx.Get(ctx, []revoke.ID{id})
			return err
		})
		if !errors.Is(err, revoke.ErrCorrupt) {
			t.Errorf("Get of a row with %s: %v, want ErrCorrupt", damage, err)
		}
		db.MustExec("DELETE FROM `"+prefix+"tokens` WHERE id = ?", id[:])
		if err := s.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) }); err != nil {
			t.Fatal(err)
		}
	}
	db.MustExec("UPDATE `"+prefix+"tokens` SET id = 'short' WHERE id = ?", id[:])
	err := s.View(ctx, func(tx revoke.Tx) error {
		return tx.RevokedSince(ctx, 0, func(revoke.Revocation) error { return nil })
	})
	if !errors.Is(err, revoke.ErrCorrupt) {
		t.Errorf("RevokedSince over a short ID: %v, want ErrCorrupt", err)
	}
}

func TestInvalidOptions(t *testing.T) {
	for name, opt := range map[string]mysql.Option{
		"prefix with a dash":      mysql.WithTablePrefix("a-b"),
		"uppercase prefix":        mysql.WithTablePrefix("Revoke_"),
		"long prefix":             mysql.WithTablePrefix(string(make([]byte, 49))),
		"lock timeout below 1s":   mysql.WithLockTimeout(time.Millisecond),
		"statement timeout of 0":  mysql.WithStatementTimeout(0),
		"nil option":              nil,
		"lock timeout over a day": mysql.WithLockTimeout(25 * time.Hour),
	} {
		if _, err := mysql.Open(context.Background(), dsn, opt); !errors.Is(err, revoke.ErrInvalidOption) {
			t.Errorf("%s: Open = %v, want ErrInvalidOption", name, err)
		}
	}
	for _, bad := range []string{"not a dsn", "root@tcp(127.0.0.1:1)/"} {
		if _, err := mysql.Open(context.Background(), bad); !errors.Is(err, revoke.ErrInvalidOption) {
			t.Errorf("Open of DSN %q = %v, want ErrInvalidOption", bad, err)
		}
	}
	if _, err := mysql.New(context.Background(), nil); !errors.Is(err, revoke.ErrInvalidOption) {
		t.Errorf("New(nil) = %v, want ErrInvalidOption", err)
	}
}

// TestLockTimeout: a write that waits longer than the lock timeout for the
// write lock, held by another replica, fails with revoke.ErrUnavailable;
// one whose context ends meanwhile fails with the context's error; one
// over the statement timeout fails with revoke.ErrUnavailable.
func TestLockTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	prefix := freshPrefix(t)
	holder, waiter := open(t, prefix), open(t, prefix, mysql.WithLockTimeout(time.Second))
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- holder.Update(ctx, func(revoke.Tx) error { close(held); <-release; return nil })
	}()
	<-held
	start := time.Now()
	err := waiter.Update(ctx, func(tx revoke.Tx) error { _, err := tx.NextSeq(ctx); return err })
	if !errors.Is(err, revoke.ErrUnavailable) || time.Since(start) < time.Second {
		t.Errorf("Update behind a held lock: %v after %v, want ErrUnavailable after 1s", err, time.Since(start))
	}
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := waiter.Update(cctx, func(revoke.Tx) error { return nil }); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Update behind a held lock, context ending: %v, want DeadlineExceeded", err)
	}
	quick := open(t, prefix, mysql.WithStatementTimeout(200*time.Millisecond))
	start = time.Now()
	err = quick.Update(ctx, func(revoke.Tx) error { return nil })
	if !errors.Is(err, revoke.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 900*time.Millisecond {
		t.Errorf("Update behind a held lock, over the statement timeout: %v after %v, want ErrUnavailable after 200ms", err, time.Since(start))
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := waiter.Update(ctx, func(revoke.Tx) error { return nil }); err != nil {
		t.Errorf("Update after the lock was released: %v", err)
	}
}
