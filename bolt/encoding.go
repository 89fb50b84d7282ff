package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// A record is stored in the records bucket under its grant's key ‖ its own
// ID (see recordKey), as:
//
//	version   1 byte   recordEncoding (1)
//	flags     1 byte   flagParent | flagGrantSelf
//	kind      1 byte
//	check     4 bytes  big-endian CRC-32C of the raw token
//	expires   8 bytes  big-endian ExpiresAt, Unix nanoseconds (int64)
//	seq       8 bytes  big-endian revocation sequence, 0 while live
//	parent   32 bytes  only with flagParent
//	grant    32 bytes  only without flagGrantSelf (grant == ID)
//	client   uvarint length, bytes
//	subject  uvarint length, bytes
//	rotation only with flagRotated:
//	  successor  32 bytes
//	  rotated    8 bytes  big-endian RotatedAt, Unix nanoseconds, or
//	                      math.MinInt64 for the zero time
//	  retries    uvarint
//	status   only with flagStatus (format version 5):
//	  list       uvarint  Status.List
//	  index      uvarint  Status.Index
//
// flagSuperseded stands for Record.Superseded. A record without flagStatus
// (every record of format versions 3 and 4) has the zero Status.
//
// A record of a token that starts its own grant thus takes 25 bytes plus its
// client and subject, and its Status List entry, when it has one, from 2 to
// 15 bytes more.
const (
	recordEncoding = 1

	flagParent     = 1 << 0
	flagGrantSelf  = 1 << 1
	flagRotated    = 1 << 2
	flagSuperseded = 1 << 3
	flagStatus     = 1 << 4
	flagsKnown     = flagParent | flagGrantSelf | flagRotated | flagSuperseded | flagStatus

	// zeroTime encodes the zero RotatedAt.
	zeroTime = math.MinInt64

	recordFixed = 1 + 1 + 1 + 4 + 8 + 8

	// maxString bounds ClientID and Subject, far above any real value, so
	// that a damaged length cannot ask for gigabytes.
	maxString = 1 << 16
)

var (
	errShort    = errors.New("record too short")
	errTrailing = errors.New("trailing bytes after record")
)

// nanos returns t as Unix nanoseconds, or an error when t is outside the
// range an int64 of nanoseconds holds (years 1678 to 2262).
func nanos(t time.Time) (int64, error) {
	ns := t.UnixNano()
	if !time.Unix(0, ns).Equal(t) {
		return 0, fmt.Errorf("bolt: ExpiresAt %v cannot be stored: outside the years 1678 to 2262", t)
	}
	return ns, nil
}

// fromNanos is the inverse of nanos, in UTC.
func fromNanos(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// encodeRecord appends the encoding of rec to dst.
func encodeRecord(dst []byte, rec revoke.Record) ([]byte, error) {
	if len(rec.ClientID) > maxString || len(rec.Subject) > maxString {
		return nil, fmt.Errorf("bolt: record %s: ClientID or Subject longer than %d bytes", rec.ID, maxString)
	}
	exp, err := nanos(rec.ExpiresAt)
	if err != nil {
		return nil, err
	}
	var flags byte
	if !rec.Parent.IsZero() {
		flags |= flagParent
	}
	if rec.Grant == rec.ID {
		flags |= flagGrantSelf
	}
	rotated := int64(zeroTime)
	if !rec.Successor.IsZero() || !rec.RotatedAt.IsZero() || rec.Retries != 0 {
		flags |= flagRotated
		if !rec.RotatedAt.IsZero() {
			if rotated, err = nanos(rec.RotatedAt); err != nil || rotated == zeroTime {
				return nil, fmt.Errorf("bolt: record %s: RotatedAt %v cannot be stored", rec.ID, rec.RotatedAt)
			}
		}
	}
	if rec.Superseded {
		flags |= flagSuperseded
	}
	if !rec.Status.IsZero() {
		flags |= flagStatus
	}
	dst = append(dst, recordEncoding, flags, byte(rec.Kind))
	dst = binary.BigEndian.AppendUint32(dst, rec.Check)
	dst = binary.BigEndian.AppendUint64(dst, uint64(exp))
	dst = binary.BigEndian.AppendUint64(dst, rec.Seq)
	if flags&flagParent != 0 {
		dst = append(dst, rec.Parent[:]...)
	}
	if flags&flagGrantSelf == 0 {
		dst = append(dst, rec.Grant[:]...)
	}
	dst = binary.AppendUvarint(dst, uint64(len(rec.ClientID)))
	dst = append(dst, rec.ClientID...)
	dst = binary.AppendUvarint(dst, uint64(len(rec.Subject)))
	dst = append(dst, rec.Subject...)
	if flags&flagRotated != 0 {
		dst = append(dst, rec.Successor[:]...)
		dst = binary.BigEndian.AppendUint64(dst, uint64(rotated))
		dst = binary.AppendUvarint(dst, uint64(rec.Retries))
	}
	if flags&flagStatus != 0 {
		dst = appendStatus(dst, rec.Status)
	}
	return dst, nil
}

// appendStatus appends s as two uvarints, its list then its index.
func appendStatus(dst []byte, s revoke.StatusRef) []byte {
	dst = binary.AppendUvarint(dst, s.List)
	return binary.AppendUvarint(dst, uint64(s.Index))
}

// decodeStatus decodes what appendStatus appended at the start of b and
// returns the rest of b.
func decodeStatus(b []byte) (revoke.StatusRef, []byte, error) {
	list, k := binary.Uvarint(b)
	if k <= 0 {
		return revoke.StatusRef{}, nil, errors.New("bad status list")
	}
	b = b[k:]
	index, k := binary.Uvarint(b)
	if k <= 0 || index > math.MaxUint32 {
		return revoke.StatusRef{}, nil, errors.New("bad status index")
	}
	return revoke.StatusRef{List: list, Index: uint32(index)}, b[k:], nil
}

// decodeRecord decodes the record stored under id. It copies everything out
// of b, which may be bbolt's memory, and returns an error wrapping
// revoke.ErrCorrupt, never a panic, for bytes it cannot decode.
func decodeRecord(id, b []byte) (revoke.Record, error) {
	var rec revoke.Record
	if len(id) != len(rec.ID) {
		return rec, fmt.Errorf("%w: record key of %d bytes, want %d", errCorrupt, len(id), len(rec.ID))
	}
	copy(rec.ID[:], id)
	fail := func(err error) (revoke.Record, error) {
		return revoke.Record{}, fmt.Errorf("%w: record %s: %v", errCorrupt, rec.ID, err)
	}
	if len(b) < recordFixed {
		return fail(errShort)
	}
	if b[0] != recordEncoding {
		return fail(fmt.Errorf("unknown record encoding %d", b[0]))
	}
	flags := b[1]
	if flags&^flagsKnown != 0 {
		return fail(fmt.Errorf("unknown flags %#x", flags))
	}
	rec.Kind = revoke.Kind(b[2])
	rec.Check = binary.BigEndian.Uint32(b[3:])
	rec.ExpiresAt = fromNanos(int64(binary.BigEndian.Uint64(b[7:])))
	rec.Seq = binary.BigEndian.Uint64(b[15:])
	b = b[recordFixed:]
	if flags&flagParent != 0 {
		if len(b) < len(rec.Parent) {
			return fail(errShort)
		}
		b = b[copy(rec.Parent[:], b):]
	}
	if flags&flagGrantSelf != 0 {
		rec.Grant = rec.ID
	} else {
		if len(b) < len(rec.Grant) {
			return fail(errShort)
		}
		b = b[copy(rec.Grant[:], b):]
	}
	var err error
	if rec.ClientID, b, err = decodeString(b); err != nil {
		return fail(err)
	}
	if rec.Subject, b, err = decodeString(b); err != nil {
		return fail(err)
	}
	if flags&flagRotated != 0 {
		if b, err = decodeRotation(&rec, b); err != nil {
			return fail(err)
		}
	}
	rec.Superseded = flags&flagSuperseded != 0
	if flags&flagStatus != 0 {
		if rec.Status, b, err = decodeStatus(b); err != nil {
			return fail(err)
		}
	}
	if len(b) != 0 {
		return fail(errTrailing)
	}
	return rec, nil
}

// decodeRotation decodes the rotation state at the start of b into rec and
// returns the rest of b.
func decodeRotation(rec *revoke.Record, b []byte) ([]byte, error) {
	if len(b) < len(rec.Successor)+8 {
		return nil, errShort
	}
	b = b[copy(rec.Successor[:], b):]
	if ns := int64(binary.BigEndian.Uint64(b)); ns != zeroTime {
		rec.RotatedAt = fromNanos(ns)
	}
	b = b[8:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > math.MaxUint32 {
		return nil, errors.New("bad retry count")
	}
	rec.Retries = uint32(n)
	return b[k:], nil
}

// decodeString decodes a uvarint-length-prefixed string, copying it.
func decodeString(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return "", nil, errors.New("bad string length")
	}
	b = b[k:]
	if n > maxString || n > uint64(len(b)) {
		return "", nil, errShort
	}
	return string(b[:n]), b[n:], nil
}

// Keys. Every key ends with the record's ID so that keys are unique and the
// ID can be read back from the key alone.
const (
	idLen        = len(revoke.ID{})
	grantKeyLen  = 8
	recordKeyLen = grantKeyLen + idLen
	orderKeyLen  = 8 + idLen // expiry and revocation keys
	revValueLen  = 4 + 8     // Check, ExpiresAt, then the Status if not zero
)

// grantKey is the store's own key of a grant: a big-endian counter handed
// out in ascending order as grants are created (see tx.newGrantKey), found
// from the grant's ID through its first token's ids entry or the grantkeys
// bucket (see tx.grantKeyOf). Records are stored under their
// grant's key, so that the records of the grants being issued now are
// adjacent at the right edge of the records bucket rather than scattered at
// random by their SHA-256 IDs.
type grantKey [grantKeyLen]byte

// recordKey is the key of a record in the records bucket: its grant's key
// ‖ its ID, so that the records of a grant are adjacent in the B+tree.
func recordKey(gk grantKey, id revoke.ID) [recordKeyLen]byte {
	var k [recordKeyLen]byte
	copy(k[:], gk[:])
	copy(k[grantKeyLen:], id[:])
	return k
}

// decodeStored decodes a records bucket entry, copying out of k and v. A
// key of another length is revoke.ErrCorrupt.
func decodeStored(k, v []byte) (revoke.Record, error) {
	if len(k) != recordKeyLen {
		return revoke.Record{}, fmt.Errorf("%w: record key of %d bytes, want %d", errCorrupt, len(k), recordKeyLen)
	}
	return decodeRecord(k[grantKeyLen:], v)
}

// orderKey is a big-endian uint64 ‖ id.
func orderKey(n uint64, id revoke.ID) []byte {
	k := make([]byte, 8, orderKeyLen)
	binary.BigEndian.PutUint64(k, n)
	return append(k, id[:]...)
}

// expiryOrder maps Unix nanoseconds to a uint64 whose big-endian bytes sort
// as the signed value does (the sign bit flipped).
func expiryOrder(ns int64) uint64 { return uint64(ns) ^ (1 << 63) }

// expiryKey is the expiry index key of rec: its ExpiresAt in sortable
// big-endian form ‖ ID. rec.ExpiresAt must be in range (see nanos).
func expiryKey(ns int64, id revoke.ID) []byte { return orderKey(expiryOrder(ns), id) }

// revocationValue is the value of a revocation index entry: what a
// revoke.Revocation holds besides the Seq and ID of its key. The check and
// expiry take revValueLen bytes; a Status other than the zero one follows
// them as appendStatus writes it (format version 5), so that RevokedSince
// reads it from the index alone.
func revocationValue(check uint32, ns int64, status revoke.StatusRef) []byte {
	v := make([]byte, revValueLen, revValueLen+2*binary.MaxVarintLen64)
	binary.BigEndian.PutUint32(v, check)
	binary.BigEndian.PutUint64(v[4:], uint64(ns))
	if !status.IsZero() {
		v = appendStatus(v, status)
	}
	return v
}

// decodeRevocation decodes a revocation index entry, copying out of k and v.
// An entry of revValueLen bytes (all of format versions 3 and 4) has the
// zero Status.
func decodeRevocation(k, v []byte) (revoke.Revocation, error) {
	var rev revoke.Revocation
	if len(k) != orderKeyLen || len(v) < revValueLen {
		return rev, fmt.Errorf("%w: revocation index entry of %d+%d bytes, want %d+%d or more", errCorrupt, len(k), len(v), orderKeyLen, revValueLen)
	}
	rev.Seq = binary.BigEndian.Uint64(k)
	copy(rev.ID[:], k[8:])
	rev.Check = binary.BigEndian.Uint32(v)
	rev.ExpiresAt = fromNanos(int64(binary.BigEndian.Uint64(v[4:])))
	if len(v) == revValueLen {
		return rev, nil
	}
	status, rest, err := decodeStatus(v[revValueLen:])
	switch {
	case err != nil:
		return revoke.Revocation{}, fmt.Errorf("%w: revocation index entry of %s: %v", errCorrupt, rev.ID, err)
	case len(rest) != 0:
		return revoke.Revocation{}, fmt.Errorf("%w: revocation index entry of %s: %v", errCorrupt, rev.ID, errTrailing)
	}
	rev.Status = status
	return rev, nil
}
