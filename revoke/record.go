package revoke

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/crc32"
	"strconv"
	"time"
	"unsafe"
)

// Kind says whether a token is an access token or a refresh token.
type Kind uint8

// The kinds of token.
const (
	Access  Kind = 1
	Refresh Kind = 2
)

// String returns "access", "refresh", or "Kind(n)" for an unknown kind.
func (k Kind) String() string {
	switch k {
	case Access:
		return "access"
	case Refresh:
		return "refresh"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Valid reports whether k is Access or Refresh.
func (k Kind) Valid() bool { return k == Access || k == Refresh }

// Token is what the authorization server tells the library when it hands a
// token out.
type Token struct {
	// Value is the raw token exactly as clients will present it. It is
	// hashed on the way in and never stored.
	Value string
	// Kind is Access or Refresh.
	Kind Kind
	// ClientID is the client the token was issued to. Required.
	ClientID string
	// Subject is the user or principal the token stands for. Optional.
	Subject string
	// Parent is the raw value of the refresh token this one was minted from:
	// for an access token minted by a refresh, or a rotated refresh token.
	// Empty for a token that starts its own grant.
	Parent string
	// ExpiresAt is when the token stops being valid. Required, in the future.
	ExpiresAt time.Time
	// Status is the token's entry in an IETF Token Status List (see package
	// statuslist), which the token carries as its status claim; the zero
	// StatusRef for a token without one. It is stored with the record, so
	// that the entry's bit follows the token however it is revoked.
	Status StatusRef
}

// StatusRef locates a token's entry in a Token Status List: the list and
// the index of its bit. The zero StatusRef stands for "no entry".
type StatusRef struct {
	// List is the list's number, non-zero for an entry.
	List uint64
	// Index is the position of the token's bit in the list.
	Index uint32
}

// IsZero reports whether s is the zero StatusRef: no entry.
func (s StatusRef) IsZero() bool { return s == StatusRef{} }

// ID identifies a token in storage: the SHA-256 digest of its raw value.
// The raw value cannot be recovered from it.
type ID [sha256.Size]byte

// TokenID returns the ID of the raw token value.
func TokenID(token string) ID {
	return sha256.Sum256(stringBytes(token))
}

// IsZero reports whether id is the zero ID, which stands for "none".
func (id ID) IsZero() bool { return id == ID{} }

// String returns id in hexadecimal.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Checksum returns the CRC-32C (Castagnoli) of the raw token value. Records
// keep it beside their ID, and export carries it; IsRevoked does not use
// it (it finds a token by its SHA-256, so that a wrong checksum hides
// nothing). A 32-bit checksum of a token neither reveals the token nor lets
// anyone present it.
func Checksum(token string) uint32 {
	return crc32.Checksum(stringBytes(token), castagnoli)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// stringBytes views s as bytes without copying; the bytes must not be
// modified. It keeps hashing on the IsRevoked path free of allocations.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// Record is what a Store keeps for one issued token.
type Record struct {
	// ID is the SHA-256 of the raw token.
	ID ID
	// Check is the CRC-32C of the raw token (see Checksum).
	Check uint32
	// Kind is Access or Refresh.
	Kind Kind
	// ClientID is the client the token was issued to.
	ClientID string
	// Subject is the principal, possibly empty.
	Subject string
	// Parent is the ID of the refresh token this one was minted from, or
	// the zero ID.
	Parent ID
	// Grant is the ID of the token that started the grant: the record's own
	// ID when it has no parent, otherwise its parent's Grant.
	Grant ID
	// ExpiresAt is when the token expires.
	ExpiresAt time.Time
	// Seq is the revocation sequence number: zero while the token is live,
	// and the number from Tx.NextSeq of the transaction that revoked it.
	Seq uint64

	// The rotation state of a refresh token (see Revoker.Rotate); zero for
	// access tokens and for refresh tokens never rotated. A Store keeps
	// these fields as it keeps the others, for as long as the record.

	// Successor is the ID of the refresh token that replaced this one,
	// set by Rotate (and replaced by a grace retry), or the zero ID.
	Successor ID
	// RotatedAt is when Successor was first set (a grace retry that
	// replaces Successor leaves it), by the Revoker's clock, to
	// the nanosecond, in UTC; the zero time while Successor is zero.
	RotatedAt time.Time
	// Retries is how many grace retries rotated this token again after
	// its first rotation (see RotationPolicy.ReuseGrace).
	Retries uint32
	// Superseded marks a successor replaced by a grace retry of its
	// parent: the token whose response was lost. It is spent without
	// grace, even though its own Successor is zero.
	Superseded bool

	// Status is the token's entry in a Token Status List, as Issue was
	// given it (Token.Status), or the zero StatusRef. A Store keeps it as
	// it keeps the other fields, and reports it in RevokedSince.
	Status StatusRef
}

// Revoked reports whether the record has been revoked.
func (r Record) Revoked() bool { return r.Seq != 0 }

// Spent reports whether the refresh token was rotated (Successor set) or
// superseded by a grace retry. Presenting a spent token again, to Rotate or
// as an Issue parent, is reuse.
func (r Record) Spent() bool { return !r.Successor.IsZero() || r.Superseded }

// Revocation is the part of a revoked record the in-memory index of a
// Revoker needs.
type Revocation struct {
	ID        ID
	Check     uint32
	ExpiresAt time.Time
	Seq       uint64
	// Status is the record's Token Status List entry, or the zero
	// StatusRef; the index ignores it, package statuslist reads it.
	Status StatusRef
}

// Revocation returns the index entry of a revoked record.
func (r Record) Revocation() Revocation {
	return Revocation{ID: r.ID, Check: r.Check, ExpiresAt: r.ExpiresAt, Seq: r.Seq, Status: r.Status}
}
