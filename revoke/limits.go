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

// checkTokenClient validates the token (named field) and client ID of a
// revocation.
func checkTokenClient(field, token, clientID string) error {
	switch {
	case token == "":
		return &FieldError{Field: field, Reason: "is empty"}
	case len(token) > MaxTokenLength:
		return &FieldError{Field: field, Reason: tooLong(MaxTokenLength)}
	case clientID == "":
		return &FieldError{Field: "clientID", Reason: "is empty"}
	case len(clientID) > MaxClientIDLength:
		return &FieldError{Field: "clientID", Reason: tooLong(MaxClientIDLength)}
	}
	return nil
}
