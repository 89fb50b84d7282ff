package revoke

import "strconv"

// Length limits on what Issue and Revoke accept, in bytes. They are the same
// on every backend, so a token one store takes is never refused by another,
// and the HTTP handler (package httpadapter) refuses by default exactly what
// Issue would. Longer input is a *FieldError wrapping ErrInvalidToken, and
// nothing is stored.
const (
	// MaxTokenLength is the longest token value (Token.Value,
	// Token.Parent, and the token given to Revoke or IsRevoked).
	MaxTokenLength = 4096
	// MaxClientIDLength is the longest client ID.
	MaxClientIDLength = 256
	// MaxSubjectLength is the longest subject.
	MaxSubjectLength = 1024
)

func tooLong(max int) string { return "is longer than " + strconv.Itoa(max) + " bytes" }
