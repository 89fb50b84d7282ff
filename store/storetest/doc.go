// Package storetest is the conformance suite for revoke.Store backends.
//
// A backend's tests run it with one call:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) revoke.Store {
//			s, err := mybackend.Open(filepath.Join(t.TempDir(), "db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// Run checks the Tx contract of revoke.Store one method at a time, on the
// Store directly, one subtest per method and property: Get/Batch (times
// read back in UTC), Get/OwnWrites, Get/ValuesOutliveTx (records returned
// stay valid after their transaction ends), Put/Batch, Put/ReplacesRecord,
// Put/MemberWithoutRootAddsGrant (an import whose first Put of a grant is
// not its root), Delete/Batch, Delete/LastRecordDropsGrant,
// Delete/GrantRefilledInOneUpdate (a grant read, emptied and given a new
// record in one Update keeps its owner entries), RevokeGrants/OnlyLiveRecords, RevokeGrants/SeesOwnWrites,
// RevokeGrants/Duplicates, RevokeGrants/ReadsFollow, GrantsOf/Paging,
// GrantsOf/OneEntryPerGrant, GrantsOf/Owners, GrantsOf/OwnWrites,
// NextSeq/Increasing, NextSeq/AboveImported, NextSeq/AbovePutInTx (above a
// Seq Put earlier in its transaction), RevokedSince/Order,
// RevokedSince/StopsOnError, Expired/Cutoff (strictly before, to the
// nanosecond), Expired/Limit, Expired/OwnWrites, Scan/Paging,
// Scan/OwnWrites, Capabilities/Stable, View/NotBlockedByUpdate,
// Update/CancelledWhileFnRuns and Update/CancelledWhileWaiting (a context
// that ends while fn runs, or while the Update waits for another, keeps
// nothing and is reported). It checks the Store as a whole
// too: a View is one snapshot (ViewIsOneSnapshot), a failed Update keeps
// nothing (Rollback), closing and cancelled contexts, and client IDs and
// subjects stored and matched byte for byte ("alice", "Alice", "alice ",
// composed and decomposed "é", fullwidth letters: ByteExactStrings).
//
// Run then exercises the rules of package revoke through revoke.New, as an
// application would: cascade, isolation, idempotence, client mismatch,
// Issue under a revoked, unknown, foreign or expired parent, sequence,
// purge, concurrent Issue against Revoke on one grant over many rounds, one
// Revoker per Store, a write the store refuses failing alone in its shared
// transaction (OneBadWriteFailsAlone), and a copy made with revoke.ScanAll
// and Put keeping NextSeq above the copied Seqs and loading the same
// revoked set (ScanAllCopy).
//
// A backend whose data other processes can reach (a file several
// processes may open, a database server) passes WithReopen, a way to open a
// second Store over the same data, as another process would:
//
//	storetest.Run(t, open, storetest.WithReopen(func(t *testing.T, s revoke.Store) (revoke.Store, error) {
//		return mybackend.Open(pathOf(s))
//	}))
//
// The second Store must be refused (a file lock) or Shared, and then
// SecondStoreOverSameData races the two: both Revokers converge, exactly
// one of concurrent Rotates of one token through both succeeds, an Issue
// through one racing a Revoke of its grant through the other is refused or
// revoked, and revocation sequence numbers become visible in order to a
// follower reading through either. A Store whose Capabilities declare Shared
// fails without WithReopen, and a second Store that sees the first one's
// commits fails unless it is Shared. Each failure names the method and the
// rule it broke.
//
// It also covers the token lifecycle: the rotation state a Store must keep
// on records (RotationStateRoundTrip), and through revoke.New the rotation
// chain, Rotate's refusals, reuse revoking the whole grant (the newest token
// included, and through Issue under a spent parent), the grace window
// (immediate parent only, window, retries), concurrent rotations of one
// token (exactly one wins), Rotate racing Revoke, subject inheritance,
// RevokeSubject and RevokeClient across clients and chains, in batches and
// against racing issuers, and purge keeping reuse detection for the live
// members of a grant. Package store/storebench measures a Store.
//
// And a token's Token Status List entry (revoke.Record.Status): a Store
// keeps it as it keeps the other fields, the ends of its ranges and the
// zero StatusRef included, returns it from Get, of one ID or many, and
// Scan, and in the revocations of RevokeGrants and RevokedSince, in the
// writing transaction and after (StatusRefRoundTrip); and through revoke.New it follows the token however
// it is revoked (by a cascade, RevokeSubject, RevokeClient or reuse), into
// the change log and revoke.Revoker.Statuses, which report exactly the
// revoked tokens' entries (StatusesFollowRevocations).
//
// Backends that keep their data in files also run RunCrash, which kills a
// child process in the middle of a stream of revocations and checks that
// every acknowledged one survived, and RunAtRest, which searches the files
// for raw token values. Backends on a database server run RunAtRestDump,
// which searches a dump of every column of their tables instead, and
// RunCrash with an Opener that maps the path to tables of their own (see
// RunCrash for what the child process is given).
package storetest
