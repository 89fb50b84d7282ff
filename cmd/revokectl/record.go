package main

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

// jsonRecord is a record as export writes it and import reads it: one JSON
// object per line. IDs are the SHA-256 of the raw tokens, in hex: the raw
// tokens never exist in a store.
type jsonRecord struct {
	ID        string    `json:"id"`
	Check     uint32    `json:"check"`
	Kind      string    `json:"kind"`
	ClientID  string    `json:"client_id"`
	Subject   string    `json:"subject"`
	Parent    string    `json:"parent,omitempty"`
	Grant     string    `json:"grant"`
	ExpiresAt time.Time `json:"expires_at"`
	Seq       uint64    `json:"seq"`
	// The rotation state of a refresh token (see revoke.Record).
	Successor  string     `json:"successor,omitempty"`
	RotatedAt  *time.Time `json:"rotated_at,omitempty"`
	Retries    uint32     `json:"retries,omitempty"`
	Superseded bool       `json:"superseded,omitempty"`
	// Status is the token's Token Status List entry, absent for none (the
	// zero revoke.StatusRef).
	Status *jsonStatus `json:"status,omitempty"`
}

// jsonStatus is a revoke.StatusRef: the list's number and the index of the
// token's bit in it, "idx" as in a token's status claim. A list above
// 2^53 is written exactly, as JSON allows, though a reader that parses
// numbers as floating point (JavaScript's) rounds it.
type jsonStatus struct {
	List  uint64 `json:"list"`
	Index uint32 `json:"idx"`
}

func toJSON(rec revoke.Record) jsonRecord {
	j := jsonRecord{
		ID:        rec.ID.String(),
		Check:     rec.Check,
		Kind:      rec.Kind.String(),
		ClientID:  rec.ClientID,
		Subject:   rec.Subject,
		Grant:     rec.Grant.String(),
		ExpiresAt: rec.ExpiresAt.UTC(),
		Seq:       rec.Seq,
	}
	if !rec.Parent.IsZero() {
		j.Parent = rec.Parent.String()
	}
	if !rec.Successor.IsZero() {
		j.Successor = rec.Successor.String()
	}
	if !rec.RotatedAt.IsZero() {
		t := rec.RotatedAt.UTC()
		j.RotatedAt = &t
	}
	j.Retries, j.Superseded = rec.Retries, rec.Superseded
	if !rec.Status.IsZero() {
		j.Status = &jsonStatus{List: rec.Status.List, Index: rec.Status.Index}
	}
	return j
}

func parseID(field, s string) (revoke.ID, error) {
	var id revoke.ID
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("%s %q is not %d hex digits", field, s, 2*len(id))
	}
	copy(id[:], b)
	if id.IsZero() {
		return id, fmt.Errorf("%s is the zero ID", field)
	}
	return id, nil
}

func (j jsonRecord) record() (revoke.Record, error) {
	var rec revoke.Record
	var err error
	if rec.ID, err = parseID("id", j.ID); err != nil {
		return rec, err
	}
	if rec.Grant, err = parseID("grant", j.Grant); err != nil {
		return rec, err
	}
	if j.Parent != "" {
		if rec.Parent, err = parseID("parent", j.Parent); err != nil {
			return rec, err
		}
	}
	if j.Successor != "" {
		if rec.Successor, err = parseID("successor", j.Successor); err != nil {
			return rec, err
		}
	}
	if j.RotatedAt != nil {
		rec.RotatedAt = j.RotatedAt.UTC()
	}
	if rec.Successor.IsZero() != rec.RotatedAt.IsZero() {
		return rec, errors.New("successor and rotated_at go together")
	}
	rec.Retries, rec.Superseded = j.Retries, j.Superseded
	if j.Status != nil {
		rec.Status = revoke.StatusRef{List: j.Status.List, Index: j.Status.Index}
	}
	switch j.Kind {
	case "access":
		rec.Kind = revoke.Access
	case "refresh":
		rec.Kind = revoke.Refresh
	default:
		return rec, fmt.Errorf("kind %q is neither access nor refresh", j.Kind)
	}
	rec.Check, rec.ClientID, rec.Subject = j.Check, j.ClientID, j.Subject
	rec.ExpiresAt, rec.Seq = j.ExpiresAt.UTC(), j.Seq
	if j.ExpiresAt.IsZero() {
		return rec, errors.New("expires_at is missing")
	}
	return rec, invalid(rec)
}

// jsonFields are the JSON names of the fields of revoke.Record, which
// revoke.ValidRecord's errors name.
var jsonFields = map[string]string{
	"ID": "id", "Check": "check", "Kind": "kind", "ClientID": "client_id", "Subject": "subject",
	"Parent": "parent", "Grant": "grant", "ExpiresAt": "expires_at", "Seq": "seq",
	"Successor": "successor", "RotatedAt": "rotated_at", "Retries": "retries", "Superseded": "superseded",
	"Status": "status",
}

// invalid returns why rec is not a record a Revoker could have written
// (revoke.ValidRecord), naming the field as export writes it, or nil.
func invalid(rec revoke.Record) error {
	err := revoke.ValidRecord(rec)
	var fe *revoke.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	name, ok := jsonFields[fe.Field]
	if !ok {
		name = fe.Field
	}
	return fmt.Errorf("%s %s", name, fe.Reason)
}

// maxLine bounds an import line: a record's JSON is well under 4 KiB.
const maxLine = 64 << 10

// recordReader reads JSON Lines records one at a time.
type recordReader struct {
	sc   *bufio.Scanner
	line int
}

func newRecordReader(r io.Reader) *recordReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	return &recordReader{sc: sc}
}

// next returns the next record, or io.EOF after the last. Blank lines are
// skipped.
func (r *recordReader) next() (revoke.Record, error) {
	for r.sc.Scan() {
		r.line++
		b := r.sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var j jsonRecord
		if err := json.Unmarshal(b, &j); err != nil {
			return revoke.Record{}, fmt.Errorf("line %d: %w", r.line, err)
		}
		rec, err := j.record()
		if err != nil {
			return revoke.Record{}, fmt.Errorf("line %d: %w", r.line, err)
		}
		return rec, nil
	}
	if err := r.sc.Err(); err != nil {
		return revoke.Record{}, fmt.Errorf("line %d: %w", r.line+1, err)
	}
	return revoke.Record{}, io.EOF
}

// digest is a running count and SHA-256 over records in ID order: two stores
// with the same digest hold the same records, field for field.
type digest struct {
	n   int64
	h   hash.Hash
	buf []byte
}

// add feeds rec into the digest in a fixed binary form.
func (d *digest) add(rec revoke.Record) {
	b := d.buf[:0]
	b = append(b, rec.ID[:]...)
	b = binary.BigEndian.AppendUint32(b, rec.Check)
	b = append(b, byte(rec.Kind))
	b = binary.AppendUvarint(b, uint64(len(rec.ClientID)))
	b = append(b, rec.ClientID...)
	b = binary.AppendUvarint(b, uint64(len(rec.Subject)))
	b = append(b, rec.Subject...)
	b = append(b, rec.Parent[:]...)
	b = append(b, rec.Grant[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(rec.ExpiresAt.UnixNano()))
	b = binary.BigEndian.AppendUint64(b, rec.Seq)
	b = append(b, rec.Successor[:]...)
	var rotated int64
	if !rec.RotatedAt.IsZero() {
		rotated = rec.RotatedAt.UnixNano()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(rotated))
	b = binary.BigEndian.AppendUint32(b, rec.Retries)
	if rec.Superseded {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.BigEndian.AppendUint64(b, rec.Status.List)
	b = binary.BigEndian.AppendUint32(b, rec.Status.Index)
	d.h.Write(b)
	d.buf = b
	d.n++
}

func (d *digest) sum() string { return hex.EncodeToString(d.h.Sum(nil)) }

// sameRecord compares records field by field, times by instant.
func sameRecord(a, b revoke.Record) bool {
	return a.ID == b.ID && a.Check == b.Check && a.Kind == b.Kind && a.ClientID == b.ClientID &&
		a.Subject == b.Subject && a.Parent == b.Parent && a.Grant == b.Grant &&
		a.ExpiresAt.Equal(b.ExpiresAt) && a.Seq == b.Seq &&
		a.Successor == b.Successor && a.RotatedAt.Equal(b.RotatedAt) && a.Retries == b.Retries &&
		a.Superseded == b.Superseded && a.Status == b.Status
}
