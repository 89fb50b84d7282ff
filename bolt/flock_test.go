//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package bolt_test

import (
	"os"
	"syscall"
	"testing"
)

// wantUnlocked checks that no handle holds path's lock.
func wantUnlocked(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return // nothing there to lock
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Errorf("the file is still locked after a failed Open: %v", err)
	}
}
