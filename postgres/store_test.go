package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jmoiron/sqlx"
	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

func TestOpenRefusesInvalidOptions(t *testing.T) {
	ctx := context.Background()
	for name, opt := range map[string]postgres.Option{
		"nil":                  nil,
		"prefix with dash":     postgres.WithTablePrefix("a-b"),
		"prefix with quote":    postgres.WithTablePrefix(`a"b`),
		"prefix digit first":   postgres.WithTablePrefix("1a"),
		"prefix too long":      postgres.WithTablePrefix(strings.Repeat("a", postgres.MaxTablePrefixLength+1)),
		"empty schema":         postgres.WithSchema(""),
		"schema with space":    postgres.WithSchema("a b"),
		"zero lock timeout":    postgres.WithLockTimeout(0),
		"huge lock timeout":    postgres.WithLockTimeout(25 * time.Hour),
		"negative stmt":        postgres.WithStatementTimeout(-time.Second),
		"tiny idle timeout":    postgres.WithIdleInTransactionTimeout(99 * time.Millisecond),
		"huge idle timeout":    postgres.WithIdleInTransactionTimeout(25 * time.Hour),
		"malformed listen dsn": postgres.WithListenDSN("postgres://%zz"),
	} {
		s, err := postgres.Open(ctx, dsn, opt)
		if err == nil {
			_ = s.Close()
			t.Errorf("%s: Open succeeded", name)
			continue
		}
		if !errors.Is(err, revoke.ErrInvalidOption) {
			t.Errorf("%s: err = %v, want ErrInvalidOption", name, err)
		}
	}
	if _, err := postgres.New(ctx, nil); !errors.Is(err, revoke.ErrInvalidOption) {
		t.Errorf("New(nil): err = %v, want ErrInvalidOption", err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := postgres.Open(ctx, "postgres://%zz"); !errors.Is(err, revoke.ErrInvalidOption) {
		t.Errorf("bad DSN: err = %v, want ErrInvalidOption", err)
	}
	start := time.Now()
	_, err := postgres.Open(ctx, "postgres://root@127.0.0.1:1/test?sslmode=disable&connect_timeout=5")
	if !errors.Is(err, revoke.ErrUnavailable) {
		t.Errorf("unreachable server: err = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("unreachable server: Open took %v", d)
	}
	_, err = postgres.Open(ctx, dsn+"&synchronous_commit=off", postgres.WithTablePrefix(freshPrefix(t)))
	if !errors.Is(err, postgres.ErrDurability) {
		t.Errorf("synchronous_commit off: err = %v, want ErrDurability", err)
	}
	s, err := postgres.Open(ctx, dsn+"&synchronous_commit=off", postgres.WithTablePrefix(freshPrefix(t)), postgres.WithSynchronousCommitOff())
	if err != nil {
		t.Errorf("synchronous_commit off, accepted: %v", err)
	} else {
		_ = s.Close()
	}
}

func TestOpenRefusesANewerSchema(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	admin(t).MustExec(fmt.Sprintf(`UPDATE %q SET value = value + 1 WHERE name = 'schema_version'`, prefix+"meta"))
	if _, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix)); !errors.Is(err, revoke.ErrVersion) {
		t.Errorf("err = %v, want ErrVersion", err)
	}
}

// Tables at schema version 1 or 2, which predate the first release, are
// refused, read-write or read-only, and left as they are.
func TestOpenRefusesAnOlderSchema(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	db := admin(t)
	for _, v := range []int{1, 2} {
		db.MustExec(fmt.Sprintf(`UPDATE %q SET value = $1 WHERE name = 'schema_version'`, prefix+"meta"), v)
		for _, opts := range [][]postgres.Option{{}, {postgres.WithReadOnly()}} {
			s, err := postgres.Open(ctx, dsn, append(opts, postgres.WithTablePrefix(prefix))...)
			if !errors.Is(err, revoke.ErrVersion) || !strings.Contains(err.Error(), "predates the first release") {
				if err == nil {
					_ = s.Close()
				}
				t.Errorf("Open (%d options) of version %d: %v, want ErrVersion, predating the first release", len(opts), v, err)
			}
		}
		var got int
		if err := db.Get(&got, fmt.Sprintf(`SELECT value FROM %q WHERE name = 'schema_version'`, prefix+"meta")); err != nil || got != v {
			t.Errorf("schema version %d became %d (%v)", v, got, err)
		}
	}
}

func TestOpenWithoutPermission(t *testing.T) {
	ctx := context.Background()
	db := admin(t)
	role := strings.TrimSuffix(freshPrefix(t), "_") + "_role"
	db.MustExec(`CREATE ROLE ` + role + ` LOGIN`)
	t.Cleanup(func() { db.MustExec(`DROP ROLE ` + role) })
	roleDSN := strings.Replace(dsn, "root@", role+"@", 1)
	if roleDSN == dsn {
		t.Fatalf("cannot put a user into %s", gate.DSNEnv)
	}
	_, err := postgres.Open(ctx, roleDSN, postgres.WithTablePrefix(freshPrefix(t)))
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42501" || errors.Is(err, revoke.ErrUnavailable) {
		t.Errorf("err = %v, want the server's permission error (42501), not ErrUnavailable", err)
	}
}

// Replicas starting at once over tables not made yet: one creates them, the
// others wait for it and find the tables.
func TestConcurrentOpensCreateOnce(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
			if err != nil {
				t.Errorf("Open: %v", err)
				return
			}
			_ = s.Close()
		})
	}
	wg.Wait()
}

func TestNewOverTheApplicationsPool(t *testing.T) {
	ctx := context.Background()
	db, err := sqlx.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	prefix := freshPrefix(t)
	schema := strings.TrimSuffix(prefix, "_") + "_schema"
	t.Cleanup(func() { admin(t).MustExec(`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE`) })
	s, err := postgres.New(ctx, db, postgres.WithTablePrefix(prefix), postgres.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	writer := newRevoker(t, s)
	// A replica over the same tables, through a pool of its own.
	other, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix), postgres.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	follower := newRevoker(t, other, revoke.WithFollow(revoke.FollowPolicy{Interval: time.Hour}))
	issueAndRevoke(t, writer, "tok-new")
	waitRevoked(t, follower, "tok-new")
	if err := writer.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(); err != nil {
		t.Errorf("the application's pool after Close: %v", err)
	}
	var n int
	if err := db.Get(&n, `SELECT count(*) FROM `+schema+`.`+prefix+`tokens`); err != nil || n != 1 {
		t.Errorf("tokens in schema %s: %d, %v", schema, n, err)
	}
}

func issueAndRevoke(t testing.TB, r *revoke.Revoker, tok string) {
	t.Helper()
	ctx := context.Background()
	if err := r.Issue(ctx, revoke.Token{Value: tok, Kind: revoke.Refresh, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Revoke(ctx, tok, "c"); err != nil || n != 1 {
		t.Fatalf("Revoke = %d, %v", n, err)
	}
}

// waitRevoked waits up to 5s for r to report tok revoked.
func waitRevoked(t testing.TB, r *revoke.Revoker, tok string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, err := r.IsRevoked(context.Background(), tok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not revoked within 5s (last error %v)", tok, err)
		}
		time.Sleep(time.Millisecond)
	}
}

// A write waiting for a grant's lock that another process holds, or a
// statement blocked past its timeout, fails with ErrUnavailable rather
// than hang.
func TestTimeouts(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	holder := openStore(t, prefix)
	rec := revoke.Record{ID: revoke.TokenID("held-" + prefix), Kind: revoke.Refresh, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour).UTC()}
	rec.Grant = rec.ID
	if err := holder.Update(ctx, func(tx revoke.Tx) error { return tx.Put(ctx, []revoke.Record{rec}) }); err != nil {
		t.Fatal(err)
	}
	holding, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	go func() {
		_ = holder.Update(ctx, func(tx revoke.Tx) error {
			_, err := tx.Get(ctx, []revoke.ID{rec.ID}) // locks its grant
			once.Do(func() { close(holding) })
			<-release
			return err
		})
	}()
	<-holding
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix), postgres.WithLockTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	err = s.Update(ctx, func(tx revoke.Tx) error { _, err := tx.Get(ctx, []revoke.ID{rec.ID}); return err })
	if !errors.Is(err, revoke.ErrUnavailable) {
		t.Errorf("Get while another transaction holds the grant's lock: err = %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the lock timeout of 100ms took %v", d)
	}
	close(release)
	released = true

	// A row lock on the sequence counter, held from outside, past the
	// statement timeout: the commit's claim of the number drawn waits.
	s2, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix), postgres.WithStatementTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	tx := admin(t).MustBegin()
	defer tx.Rollback()
	tx.MustExec(fmt.Sprintf(`SELECT * FROM %q FOR UPDATE`, prefix+"meta"))
	err = s2.Update(ctx, func(tx revoke.Tx) error {
		_, err := tx.NextSeq(ctx)
		return err
	})
	if !errors.Is(err, revoke.ErrUnavailable) {
		t.Errorf("NextSeq past the statement timeout: err = %v, want ErrUnavailable", err)
	}
}

// The channels of Capabilities.Notify receive a commit's signal, close with their context or
// with the Store, and Notify after Close fails.
func TestNotify(t *testing.T) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	s, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	short, err := s.Capabilities().Notify(cctx)
	if err != nil {
		t.Fatal(err)
	}
	long, err := s.Capabilities().Notify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The first signal says the feed is listening.
	for _, ch := range []<-chan struct{}{short, long} {
		select {
		case <-ch:
		case <-time.After(5 * time.Second):
			t.Fatal("no signal when the feed started listening")
		}
	}
	w, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	issueAndRevoke(t, newRevoker(t, w, revoke.WithFollow(revoke.FollowPolicy{Interval: 0})), "tok-notify")
	select {
	case <-long:
	case <-time.After(5 * time.Second):
		t.Fatal("no signal after another Store's revocation")
	}
	cancel()
	waitClosed(t, short)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, long)
	if _, err := s.Capabilities().Notify(ctx); !errors.Is(err, revoke.ErrClosed) {
		t.Errorf("Notify after Close: %v, want ErrClosed", err)
	}
}

func waitClosed(t *testing.T, ch <-chan struct{}) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel not closed within 5s")
		}
	}
}

// TestZeroStore checks that a Store not made by Open or New fails with an
// error instead of panicking.
func TestZeroStore(t *testing.T) {
	if _, err := revoke.New(new(postgres.Store)); err == nil {
		t.Error("revoke.New over a zero Store succeeded")
	}
	var s postgres.Store
	if err := s.Update(context.Background(), func(revoke.Tx) error { return nil }); err == nil {
		t.Error("Update on a zero Store succeeded")
	}
	if _, err := s.Capabilities().Notify(context.Background()); err == nil {
		t.Error("Notify on a zero Store succeeded")
	}
	if err := s.Close(); err == nil {
		t.Error("Close of a zero Store succeeded")
	}
}
