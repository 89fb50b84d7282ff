package revoke

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

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

// What Issue, Revoke and the other calls accept, the same on every backend,
// so that input one store takes is never refused by another, and one
// caller's input can never make a store fail a write it shares with others:
//
//   - A client ID or subject is valid UTF-8 without a NUL byte (U+0000):
//     the text every SQL backend stores as it is. Other bytes are a
//     *FieldError wrapping ErrInvalidToken, and nothing is stored.
//   - A token may hold any bytes: it is hashed, never stored.
//
// The lengths above bound all three.

// badText returns why s may not be a client ID or subject, or "".
func badText(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "holds a NUL byte"
	}
	return ""
}

// checkClientID validates a client ID given as field.
func checkClientID(field, clientID string) error {
	switch {
	case clientID == "":
		return &FieldError{Field: field, Reason: "is empty"}
	case len(clientID) > MaxClientIDLength:
		return &FieldError{Field: field, Reason: tooLong(MaxClientIDLength)}
	}
	if why := badText(clientID); why != "" {
		return &FieldError{Field: field, Reason: why}
	}
	return nil
}

// checkSubject validates a subject given as field; empty is allowed.
func checkSubject(field, subject string) error {
	if len(subject) > MaxSubjectLength {
		return &FieldError{Field: field, Reason: tooLong(MaxSubjectLength)}
	}
	if why := badText(subject); why != "" {
		return &FieldError{Field: field, Reason: why}
	}
	return nil
}

// MaxSeq is the largest revocation sequence number a Record may carry in
// from outside a Revoker (an import, see ValidRecord). A store's sequence
// runs far beyond it (to the int64 range every backend keeps), so an
// imported record can never exhaust it; a Revoker reaches MaxSeq only after
// 2^53 revocations. It is also the largest integer a JSON number carries
// exactly.
const MaxSeq = 1<<53 - 1

// ValidRecord reports whether rec is a record a Revoker could have written,
// as far as can be told without the token: the rules of Issue for its
// client, subject, kind and expiry, a Seq of at most MaxSeq, a non-zero ID,
// the grant rule (a record without a parent is its own grant, one with a
// parent is not), and rotation state only on refresh tokens. It returns a
// *FieldError wrapping ErrInvalidToken for the first rule rec breaks. Code
// that writes records into a Store from outside a Revoker (an import) calls
// it for each.
//
// Check cannot be verified without the token; 0 stands for unknown. A
// Revoker finds every token by its ID, never by Check, so a wrong one hides
// no revocation.
func ValidRecord(rec Record) error {
	if err := checkIdentity(rec); err != nil {
		return err
	}
	if err := checkClientID("ClientID", rec.ClientID); err != nil {
		return err
	}
	if err := checkSubject("Subject", rec.Subject); err != nil {
		return err
	}
	return checkRotation(rec)
}

// checkIdentity validates what identifies rec: its ID, kind, grant, expiry
// and sequence number.
func checkIdentity(rec Record) error {
	switch {
	case rec.ID.IsZero():
		return &FieldError{Field: "ID", Reason: "is zero"}
	case !rec.Kind.Valid():
		return &FieldError{Field: "Kind", Reason: "is " + rec.Kind.String() + ", want access or refresh"}
	case rec.Parent.IsZero() != (rec.Grant == rec.ID):
		return &FieldError{Field: "Grant", Reason: "is not the record's own ID exactly when it has no parent"}
	case rec.Grant.IsZero():
		return &FieldError{Field: "Grant", Reason: "is zero"}
	case rec.ExpiresAt.IsZero():
		return &FieldError{Field: "ExpiresAt", Reason: "is not set"}
	case rec.ExpiresAt.After(maxExpiry):
		return &FieldError{Field: "ExpiresAt", Reason: "is after " + maxExpiry.UTC().Format(time.RFC3339)}
	case rec.ExpiresAt.Before(minExpiry):
		return &FieldError{Field: "ExpiresAt", Reason: "is before " + minExpiry.UTC().Format(time.RFC3339)}
	case rec.Seq > MaxSeq:
		return &FieldError{Field: "Seq", Reason: "is above MaxSeq (" + strconv.FormatUint(MaxSeq, 10) + ")"}
	case rec.Status.List == 0 && rec.Status.Index != 0:
		return &FieldError{Field: "Status", Reason: "has an index but no list"}
	}
	return nil
}

// checkRotation validates rec's rotation state.
func checkRotation(rec Record) error {
	rotated := !rec.Successor.IsZero() || rec.Superseded || rec.Retries > 0 || !rec.RotatedAt.IsZero()
	switch {
	case rotated && rec.Kind != Refresh:
		return &FieldError{Field: "Successor", Reason: "is set on an access token"}
	case rec.Successor.IsZero() != rec.RotatedAt.IsZero():
		return &FieldError{Field: "RotatedAt", Reason: "is set exactly when Successor is not"}
	}
	return nil
}

func tooLong(max int) string { return "is longer than " + strconv.Itoa(max) + " bytes" }

// checkTokenClient validates the token (named field) and client ID of a
// revocation.
func checkTokenClient(field, token, clientID string) error {
	switch {
	case token == "":
		return &FieldError{Field: field, Reason: "is empty"}
	case len(token) > MaxTokenLength:
		return &FieldError{Field: field, Reason: tooLong(MaxTokenLength)}
	}
	return checkClientID("clientID", clientID)
}
