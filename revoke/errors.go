package revoke

import "errors"

// Errors returned by this package and by Stores. Compare them with errors.Is;
// the errors returned wrap them with detail.
var (
	// ErrRevoked is returned by Issue when the token's parent, and so its
	// grant, has been revoked. Nothing is stored.
	ErrRevoked = errors.New("revoke: token revoked")

	// ErrClientMismatch is returned when a token is presented by a client
	// other than the one it was issued to, by Revoke, or by Issue for a
	// parent of another client. Nothing changes.
	ErrClientMismatch = errors.New("revoke: token was issued to another client")

	// ErrUnknownParent is returned by Issue when the parent token was never
	// issued, has been purged, or has expired. Nothing is stored.
	ErrUnknownParent = errors.New("revoke: unknown parent token")

	// ErrInvalidToken is returned for bad input: an empty value or client,
	// an unknown kind, a missing or past expiry, an access token used as a
	// parent. The error that wraps it is a *FieldError naming the field.
	ErrInvalidToken = errors.New("revoke: invalid token")

	// ErrAlreadyIssued is returned by Issue for a token value that was
	// already issued with other attributes (kind, client, subject, parent or
	// expiry). Issuing the same token again with the same attributes
	// succeeds and changes nothing, so an Issue can be retried.
	ErrAlreadyIssued = errors.New("revoke: token already issued with other attributes")

	// ErrClosed is returned by every method of a Revoker or Store that has
	// been closed.
	ErrClosed = errors.New("revoke: closed")

	// ErrUnavailable is wrapped by errors of a Store that cannot serve the
	// request now but may later: the database is unreachable or restarting,
	// or a lock was not granted within its timeout. Retrying later may
	// succeed; the HTTP handler answers it with 503 and Retry-After.
	// Nothing was written, except after a commit whose outcome the store
	// cannot know (the connection lost once the commit was sent): then the
	// write may have taken effect, and a retry finds it done.
	ErrUnavailable = errors.New("revoke: store unavailable")

	// ErrStoreInUse is returned by New for a Store that another open
	// Revoker already runs on. Share that Revoker instead: it is safe for
	// concurrent use, and a second one would not see the first one's
	// revocations in its index.
	ErrStoreInUse = errors.New("revoke: store already has a Revoker")

	// ErrCorrupt is wrapped by the errors of every Store whose data is
	// damaged or not its own (a foreign file, a table of unexpected
	// shape, a journal damaged inside what was acknowledged), so that "is
	// the store damaged?" is one errors.Is(err, ErrCorrupt), whatever the
	// backend.
	ErrCorrupt = errors.New("revoke: store data is damaged")

	// ErrVersion is wrapped by the errors of every Store whose data is of a
	// format or schema version its backend does not read: one written by a
	// newer version of the backend, or one that predates the first release.
	ErrVersion = errors.New("revoke: unsupported store version")

	// ErrReadOnly is wrapped by the errors of every Store opened read-only
	// (or whose database refuses writes) for a write.
	ErrReadOnly = errors.New("revoke: store is read-only")

	// ErrInvalidOption is returned by New for a nil Store, a nil Option, or
	// an option whose value is out of its bounds. The option errors of the
	// other packages (the backends', httpadapter's, follow's) wrap it.
	ErrInvalidOption = errors.New("revoke: invalid option")
)

// FieldError describes bad input to Issue or Revoke. It wraps
// ErrInvalidToken.
type FieldError struct {
	// Field names the offending field: "Value", "Kind", "ClientID",
	// "Subject", "Parent" or "ExpiresAt" for Issue and Rotate ("old" for
	// Rotate's presented token); "token" or "clientID" for Revoke and
	// IsRevoked; "subject" or "clientID" for RevokeSubject and RevokeClient.
	Field string
	// Reason says what is wrong with it.
	Reason string
}

// Error returns a message naming the field and the reason.
func (e *FieldError) Error() string {
	return ErrInvalidToken.Error() + ": " + e.Field + " " + e.Reason
}

// Unwrap returns ErrInvalidToken.
func (e *FieldError) Unwrap() error { return ErrInvalidToken }
