package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sdkauth/revocation/postgres"
	"github.com/sdkauth/revocation/revoke"
)

// Clients whose records the tables of TestRefusedWriteFailsAlone refuse:
// by a CHECK constraint, when the buffered upsert is sent (at the next
// read of the transaction, or before the commit), or by a deferred
// constraint trigger, at COMMIT.
const (
	refusedAtFlush  = "refused-at-flush"
	refusedAtCommit = "refused-at-commit"
)

// refuseClients makes the server refuse records of refusedAtFlush and
// refusedAtCommit in the tables of prefix (SQLSTATE 23514, a data error
// that input validation does not catch).
func refuseClients(t *testing.T, prefix string) {
	t.Helper()
	db := admin(t)
	table := fmt.Sprintf("%q", prefix+"tokens")
	fn := fmt.Sprintf("%q", prefix+"refuse")
	for _, stmt := range []string{
		`ALTER TABLE ` + table + ` ADD CONSTRAINT refuse CHECK (client_id <> '` + refusedAtFlush + `')`,
		`CREATE FUNCTION ` + fn + `() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.client_id = '` + refusedAtCommit + `' THEN
				RAISE EXCEPTION 'refused at commit' USING ERRCODE = 'check_violation';
			END IF;
			RETURN NULL;
		END $$`,
		`CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT OR UPDATE ON ` + table +
			` DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ` + fn + `()`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() {
		if _, err := db.Exec(`DROP FUNCTION IF EXISTS ` + fn + ` CASCADE`); err != nil {
			t.Errorf("dropping %s: %v", fn, err)
		}
	})
}

// TestRefusedWriteFailsAlone runs rounds of 32 concurrent Issues, one of
// which the server refuses (at the flush of the buffered upsert, which
// another Issue's read may trigger, or at COMMIT), queued behind a
// transaction holding a lock they need so that they share transactions: the
// refused Issue fails with the server's error, the other 31 succeed and
// are stored. The 31 are issued under a parent token whose lock a
// transaction holds; the refused one has no parent.
func TestRefusedWriteFailsAlone(t *testing.T) {
	for _, client := range []string{refusedAtFlush, refusedAtCommit} {
		t.Run(client, func(t *testing.T) { refusedWriteFailsAlone(t, client) })
	}
}

func refusedWriteFailsAlone(t *testing.T, badClient string) {
	ctx := context.Background()
	prefix := freshPrefix(t)
	app := "w" + prefix
	s, err := postgres.Open(ctx, dsn+"&application_name="+app, postgres.WithTablePrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	refuseClients(t, prefix)
	r := newRevoker(t, s, revoke.WithFollow(revoke.FollowPolicy{Interval: time.Hour}))
	holder, err := postgres.Open(ctx, dsn, postgres.WithTablePrefix(prefix), postgres.WithIdleInTransactionTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Close() })
	exp := time.Now().Add(time.Hour)
	parent := "parent-" + prefix
	if err := r.Issue(ctx, revoke.Token{Value: parent, Kind: revoke.Refresh, ClientID: "c", ExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	const rounds, writers = 5, 32
	for round := range rounds {
		release, held := holdLock(t, holder, parent)
		bad := (round * 7) % writers
		errs := make([]error, writers)
		toks := make([]revoke.Token, writers)
		var wg sync.WaitGroup
		for i := range toks {
			toks[i] = revoke.Token{Value: fmt.Sprintf("t%d-%d-%s", round, i, prefix), Kind: revoke.Access, ClientID: "c", ExpiresAt: exp}
			// Under parent, so that they wait for holdLock. (A read of
			// the parent is a flush.)
			toks[i].Parent = parent
			if i == bad {
				toks[i].ClientID, toks[i].Parent = badClient, ""
			}
			wg.Go(func() { errs[i] = r.Issue(ctx, toks[i]) })
		}
		waitForLock(t, app)
		release()
		if err := <-held; err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		for i, err := range errs {
			var pe *pgconn.PgError
			switch {
			case i == bad && (!errors.As(err, &pe) || pe.Code != "23514"):
				t.Errorf("round %d: the refused Issue: err = %v, want the server's check_violation", round, err)
			case i == bad && storedIn(t, s, toks[i].Value):
				t.Errorf("round %d: the refused Issue was stored", round)
			case i != bad && err != nil:
				t.Errorf("round %d: Issue %d, beside a refused one: %v", round, i, err)
			case i != bad && !storedIn(t, s, toks[i].Value):
				t.Errorf("round %d: Issue %d, beside a refused one, was not stored", round, i)
			}
		}
	}
	st := r.Stats()
	t.Logf("%d rounds of %d Issues, one refused: %d transactions, %.1f operations each", rounds, writers, st.Commits, st.AvgBatch)
}

// waitForLock waits until a connection of application app waits for a
// lock: the leader of the Issues queued behind a held lock.
func waitForLock(t *testing.T, app string) {
	t.Helper()
	db := admin(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		err := db.Get(&n, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, app)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no write waited for the lock within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
