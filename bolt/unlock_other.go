//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package bolt

import "os"

// unlock does nothing where bbolt does not lock with flock: closing the
// file releases the lock.
func unlock(*os.File) {}
