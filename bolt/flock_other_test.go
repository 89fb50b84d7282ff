//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package bolt_test

import "testing"

// wantUnlocked is checked where bbolt locks with flock only.
func wantUnlocked(*testing.T, string) {}
