package bolt

import (
	"os"
	"syscall"
)

// datasync makes f's data durable: fdatasync, which skips the metadata
// that reading the data back does not need.
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = syscall.Fdatasync(int(fd)) }); err != nil {
		return err
	}
	return serr
}
