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
// one grant over many rounds), and the Store contract directly.
//
// Backends that keep their data in files also run RunCrash, which kills a
// child process in the middle of a stream of revocations and checks that
// every acknowledged one survived, and RunAtRest, which searches the files
// for raw token values. Backends on a database server run RunAtRestDump,
// which searches a dump of every column of their tables instead, and
// RunCrash with an Opener that maps the path to tables of their own.
package storetest
