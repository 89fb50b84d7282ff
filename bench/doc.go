// Package bench compares revocation's IsRevoked with the token lookups of
// other Go OAuth libraries. It is a module of its own so that the libraries
// it measures against never become dependencies of revocation itself; it
// holds benchmarks only.
//
//	cd bench && GOWORK=off go test -run '^$' -bench . -count 5
package bench
