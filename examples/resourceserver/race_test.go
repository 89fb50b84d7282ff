//go:build race

package main

// raceEnabled reports whether the tests run with the race detector, so that
// the binaries they build are built alike (and from the same build cache).
const raceEnabled = true
