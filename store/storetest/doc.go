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
// NextSeq above the copied Seqs and loads the same revoked set), and the
// Store contract directly. WithReopen adds a subtest over a second Store of the same data,
// which must be refused or, for a Shared store, converge:
//
//	storetest.Run(t, open, storetest.WithReopen(func(t *testing.T, s revoke.Store) (revoke.Store, error) {
//		return mybackend.Open(pathOf(s))
//	}))
//
// Backends that keep their data in files also run RunCrash, which kills a
// child process in the middle of a stream of revocations and checks that
// every acknowledged one survived, and RunAtRest, which searches the files
// for raw token values.
package storetest
