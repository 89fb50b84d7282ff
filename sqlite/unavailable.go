package sqlite

import (
	"fmt"

	"github.com/sdkauth/revocation/revoke"
)

// errBusy classifies SQLITE_BUSY and SQLITE_LOCKED: another connection or
// process held the lock for longer than the busy timeout (WithBusyTimeout).
// It wraps revoke.ErrUnavailable, so that callers (the HTTP handler's 503)
// know a retry may succeed. Nothing was written.
var errBusy = fmt.Errorf("sqlite: database is locked past the busy timeout: %w", revoke.ErrUnavailable)
