package storetest_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/sdkauth/revocation/memory"
	"github.com/sdkauth/revocation/revoke"
	"github.com/sdkauth/revocation/store/storetest"
)

// brokenEnv names, in a re-executed test binary, the backend
// TestSuiteCatchesBrokenBackends runs the suite against.
const brokenEnv = "REVOCATION_STORETEST_BROKEN_BACKEND"

// backends are the Stores the suite runs against in the child, by name:
// the broken test doubles, and correct ones as controls.
var backends = map[string]func(t *testing.T){
	// Two processes over one database, whose writes are not serialized
	// across processes.
	"unserialized": func(t *testing.T) { runProcesses(t, false, true, true) },
	// The same, with the lock every process's writes take: correct.
	"serialized": func(t *testing.T) { runProcesses(t, true, true, true) },
	// Processes that share the data but say they do not.
	"shared-false": func(t *testing.T) { runProcesses(t, true, false, true) },
	// A Shared store run without WithReopen.
	"shared-without-reopen": func(t *testing.T) { runProcesses(t, true, true, false) },
	"collation":             func(t *testing.T) { runWrapped(t, func(tx revoke.Tx) revoke.Tx { return collatingTx{tx} }) },
	"expired-inclusive":     func(t *testing.T) { runWrapped(t, func(tx revoke.Tx) revoke.Tx { return inclusiveExpiredTx{tx} }) },
	"expired-unlimited":     func(t *testing.T) { runWrapped(t, func(tx revoke.Tx) revoke.Tx { return unlimitedTx{tx} }) },
	"view-read-committed": func(t *testing.T) {
		storetest.Run(t, func(*testing.T) revoke.Store { return &readCommitted{memory.New()} })
	},
	"commits-cancelled": func(t *testing.T) {
		storetest.Run(t, func(*testing.T) revoke.Store { return commitsCancelled{memory.New()} })
	},
	"seq-at-begin": func(t *testing.T) {
		storetest.Run(t, func(*testing.T) revoke.Store { return seqAtBegin{memory.New()} })
	},
	"local-times": func(t *testing.T) { runWrapped(t, func(tx revoke.Tx) revoke.Tx { return localTimesTx{tx} }) },
	"aliasing": func(t *testing.T) {
		buf := make([]byte, 0, 1<<16)
		runWrapped(t, func(tx revoke.Tx) revoke.Tx { return aliasingTx{tx, &buf} })
	},
	"memory": func(t *testing.T) {
		storetest.Run(t, func(*testing.T) revoke.Store { return memory.New() })
	},
}

// runProcesses runs the suite over processes of a database, each opened
// Store a process of a database of its own and the second Store another
// process of the same one (WithReopen, unless reopen is false).
func runProcesses(t *testing.T, serialized, shared, reopen bool) {
	var dbs sync.Map // *process -> its *database
	open := func(*testing.T) revoke.Store {
		db := newDatabase(serialized)
		p := db.open(shared)
		dbs.Store(p, db)
		return p
	}
	var opts []storetest.Option
	if reopen {
		opts = append(opts, storetest.WithReopen(func(_ *testing.T, s revoke.Store) (revoke.Store, error) {
			db, _ := dbs.Load(s)
			return db.(*database).open(shared), nil
		}))
	}
	storetest.Run(t, open, opts...)
}

// runWrapped runs the suite over memory Stores whose transactions go
// through wrap.
func runWrapped(t *testing.T, wrap func(revoke.Tx) revoke.Tx) {
	storetest.Run(t, func(*testing.T) revoke.Store { return &wrapped{Store: memory.New(), wrap: wrap} })
}

// TestSuiteCatchesBrokenBackends runs subtests of the suite, in a child
// process, against Stores broken in the ways a backend written outside the
// project went wrong while the suite stayed green, and checks that each
// fails with a message naming the rule; and against correct Stores, which
// must pass the same subtests. In the child it runs the suite against the
// backend brokenEnv names.
func TestSuiteCatchesBrokenBackends(t *testing.T) {
	if name := os.Getenv(brokenEnv); name != "" {
		backends[name](t)
		return
	}
	for _, c := range []struct {
		name    string // the subtest's name
		backend string // a key of backends
		run     string // the subtests of the suite to run
		want    string // what the failure must say; "" for a control, which must pass
	}{
		{"NoWriteLockAcrossProcesses/RotateRace", "unserialized", "^SecondStoreOverSameData$/^RotateRace$", "concurrent Rotates of one token through two Stores"},
		{"NoWriteLockAcrossProcesses/IssueRevokeRace", "unserialized", "^SecondStoreOverSameData$/^IssueRevokeRace$", "issued through the other while the Revoke ran, is live"},
		{"NoWriteLockAcrossProcesses/SeqVisibleInOrder", "unserialized", "^SecondStoreOverSameData$/^SeqVisibleInOrder$", "Tx.RevokedSince: Seq"},
		{"WriteLockAcrossProcesses", "serialized", "^SecondStoreOverSameData$", ""},
		{"CaseInsensitivePaddingCollation", "collation", "^ByteExactStrings$", `Tx.GrantsOf(subject, "alice") listed the grants of ["alice" "Alice" "ALICE" "alice " "alice  " "ａlice"]`},
		{"SharedReportsFalse", "shared-false", "^SecondStoreOverSameData$/^Converge$", "sees the first one's commits, but the store's Capabilities do not declare Shared"},
		{"SharedWithoutReopen", "shared-without-reopen", "^SecondStoreOverSameData$", "Run was given no way to open a second Store"},
		{"ViewReadCommitted", "view-read-committed", "^ViewIsOneSnapshot$", "Store.View: the second read of one View saw a commit"},
		{"ExpiredAtCutoff", "expired-inclusive", "^Expired$/^Cutoff$", "Tx.Expired: a record whose ExpiresAt equals the cutoff was reported; the contract says strictly before"},
		{"ExpiredLimitZeroUnlimited", "expired-unlimited", "^Expired$/^Limit$", "Tx.Expired with limit 0 reported 8 of 8 expired records, want 0"},
		{"CommitAfterContextEnded", "commits-cancelled", "^Update$/^CancelledWhileFnRuns$", "Store.Update whose context was cancelled while fn ran, fn returning nil: err = <nil>"},
		{"NextSeqBlindToOwnPuts", "seq-at-begin", "^NextSeq$/^AbovePutInTx$", "it must be above every Seq Put earlier in the transaction"},
		{"TimesNotInUTC", "local-times", "^Get$/^Batch$", "want UTC"},
		{"ValuesAliasLaterReads", "aliasing", "^Get$/^ValuesOutliveTx$", "records a View's Get returned, after the View ended and later Updates"},
		{"Memory", "memory", "^(ByteExactStrings|Get|Put|Delete|RevokeGrants|GrantsOf|NextSeq|RevokedSince|Expired|Scan|Capabilities|ViewIsOneSnapshot|Update|SecondStoreOverSameData)$", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := runChild(c.backend, c.run)
			var exit *exec.ExitError
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("the suite failed the correct %s backend (%v):\n%s", c.backend, err, out)
			case c.want == "":
			case err == nil:
				t.Fatalf("the suite passed the %s backend; want a failure saying %q:\n%s", c.backend, c.want, out)
			case !errors.As(err, &exit):
				t.Fatalf("running the suite against the %s backend: %v", c.backend, err)
			case !bytes.Contains(out, []byte(c.want)):
				t.Fatalf("the suite failed the %s backend without saying %q:\n%s", c.backend, c.want, out)
			}
		})
	}
}

// runChild runs the subtests of the suite that match run against backend
// in a re-executed test binary, and returns its output.
func runChild(backend, run string) ([]byte, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestSuiteCatchesBrokenBackends$/"+run, "-test.count=1")
	cmd.Env = append(os.Environ(), brokenEnv+"="+backend)
	return cmd.CombinedOutput()
}
