// Package storebench measures a revoke.Store under a Revoker. A backend's
// benchmarks run it with one call:
//
//	func BenchmarkStore(b *testing.B) {
//		storebench.Run(b, func(b *testing.B) revoke.Store { return mybackend.New() })
//	}
//
// It is apart from package store/storetest, the conformance suite, so that
// a backend's tests need not build what the benchmarks measure (the HTTP
// handler and middleware of package httpadapter among them).
package storebench
