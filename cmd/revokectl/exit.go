package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/revoke"
)

// Exit codes. Scripts depend on them: they are documented in doc.go and in
// the root command's help, and never renumbered.
const (
	exitOK          = 0   // success; for check: the token is revoked
	exitNotRevoked  = 1   // check: the token is live, expired or unknown
	exitUsage       = 2   // bad command line, bad store URL, bad token input
	exitUnavailable = 3   // the store is locked, busy or unreachable: retry later
	exitNotFound    = 4   // the store file or its tables, or the token to revoke, do not exist
	exitMismatch    = 6   // migrate: the verification found the two sides differ
	exitFailure     = 7   // any other failure (I/O, corrupt store, bad import data)
	exitInterrupted = 130 // interrupted (Ctrl-C, SIGTERM) between batches
)

// exitTable is the table of exit codes, for the help and doc.go.
const exitTable = `Exit codes:
  0    success (check: the token is revoked)
  1    check: the token is not revoked (live, expired or unknown)
  2    usage: bad command line, store URL or token input
  3    store unavailable: locked by a running server (bolt), busy or
       unreachable; nothing was written, retry later
  4    not found: the store file, or its tables (--table-prefix) at this
       schema version, do not exist (only import and migrate --to create or
       migrate them), or the token given to revoke was never issued
  6    migrate: verification failed, the two stores differ
  7    any other failure (I/O, corrupt store, bad import data)
  130  interrupted between batches; what was committed stays, re-run to finish`

// exitError carries the exit code of an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// withCode gives err the exit code code.
func withCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

func usagef(format string, args ...any) error {
	return withCode(exitUsage, fmt.Errorf(format, args...))
}

// errInterrupted reports a command stopped by a signal between batches.
var errInterrupted = errors.New("interrupted")

// codeOf returns the exit code for an error a command returned.
func codeOf(err error) int {
	var ee *exitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, errInterrupted), errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.Is(err, bolt.ErrLocked), errors.Is(err, revoke.ErrUnavailable):
		return exitUnavailable
	}
	return exitFailure
}
