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
// Run exercises every rule of package revoke through revoke.New, one named
// subtest per rule (cascade, isolation, idempotence, client mismatch, Issue
// under a revoked, unknown, foreign or expired parent, rollback, sequence,
// purge, closing, cancelled contexts, and concurrent Issue against Revoke on
// one grant over many rounds), one Revoker per Store, a write the store
// refuses failing alone in its shared transaction, Tx.Scan (every record
// once, in ID order, a page at a time; a copy made with it and Put keeps
// NextSeq above the copied Seqs and loads the same revoked set), the
// revoke.Prefetcher contract for a Tx that implements it (Prefetch: a Get
// answers the same with or without it, the transaction's own writes before
// and after it included), the revoke.SeqSetter contract likewise (SetSeq:
// the Seq of the records named and nothing else, the transaction's own
// writes before and after it included, the indexes following), and the
// Store contract directly: a View is one snapshot (an Update committed
// between two of its reads is not seen: ViewIsOneSnapshot), the boundaries
// the contract states (Expired strictly before its cutoff, to the
// nanosecond; a limit <= 0 reports none; Grants and Scan resume strictly
// after their after: StoreBoundaries), and client IDs and subjects stored
// and matched byte for byte ("alice", "Alice", "alice ", composed and
// decomposed "é", fullwidth letters: ByteExactStrings).
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
// follower reading through either. A Store that reports Shared() == true
// fails without WithReopen, and a second Store that sees the first one's
// commits fails unless it is Shared. Each failure names the method and the
// rule it broke.
//
// It also covers the token lifecycle: the rotation state a Store must keep
// on records (RotationStateRoundTrip), its subject and client index
// (GrantsIndex: distinct, ascending, bounded, resumable, following Put,
// Delete and rollback in the same transaction), and through revoke.New the
// rotation chain, Rotate's refusals, reuse revoking the whole grant (the
// newest token included, and through Issue under a spent parent), the grace
// window (immediate parent only, window, retries), concurrent rotations of
// one token (exactly one wins), Rotate racing Revoke, subject inheritance,
// RevokeSubject and RevokeClient across clients and chains, in batches and
// against racing issuers, and purge keeping reuse detection for the live
// members of a grant. RunBenchmarks measures Rotate, RevokeSubject and
// RevokeClient too.
//
// And a token's Token Status List entry (revoke.Record.Status): a Store
// keeps it as it keeps the other fields, the ends of its ranges and the
// zero StatusRef included, returns it from Get (after Prefetch too),
// Grant, Expired and Scan and in RevokedSince's revocations, in the
// writing transaction and after, and SetSeq leaves it as it is
// (StatusRefRoundTrip); and through revoke.New it follows the token however
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
