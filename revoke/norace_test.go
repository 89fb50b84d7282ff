//go:build !race

package revoke_test

// raceEnabled reports a test binary built with -race.
const raceEnabled = false
