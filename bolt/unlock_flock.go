//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package bolt

import (
	"os"
	"syscall"
)

// unlock releases the flock bbolt took on f. Closing f alone does not when
// a memory mapping of the file outlives it, as one does after bbolt panics
// in Open.
func unlock(f *os.File) { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
