//go:build !unix

package follow_test

import "time"

// processCPU returns false: the process's CPU time is read on Unix only.
func processCPU() (time.Duration, bool) { return 0, false }
