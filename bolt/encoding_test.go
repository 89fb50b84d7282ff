package bolt

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/sdkauth/revocation/revoke"
)

func sampleRecords() []revoke.Record {
	a := revoke.TokenID("a")
	b := revoke.TokenID("b")
	return []revoke.Record{
		{ID: a, Check: 1, Kind: revoke.Refresh, ClientID: "client", Subject: "alice", Grant: a, ExpiresAt: time.Unix(1700000000, 1).UTC()},
		{ID: b, Check: math.MaxUint32, Kind: revoke.Access, ClientID: "c", Parent: a, Grant: a, ExpiresAt: time.Unix(0, math.MinInt64).UTC(), Seq: math.MaxUint64},
		{ID: b, Kind: 0, Grant: a, ExpiresAt: time.Unix(0, math.MaxInt64).UTC(), Subject: string(make([]byte, 300))},
		{ID: a, Check: 2, Kind: revoke.Access, ClientID: "c", Grant: a, ExpiresAt: time.Unix(1700000000, 0).UTC(),
			Status: revoke.StatusRef{List: 1, Index: 0}},
		{ID: b, Check: 3, Kind: revoke.Refresh, ClientID: "c", Parent: a, Grant: a, ExpiresAt: time.Unix(1700000000, 0).UTC(), Seq: 9,
			Successor: a, RotatedAt: time.Unix(1600000000, 7).UTC(), Retries: 2, Superseded: true,
			Status: revoke.StatusRef{List: math.MaxUint64, Index: math.MaxUint32}},
	}
}

// TestDecodeFormat4Record: a record as format versions 3 and 4 wrote it,
// byte for byte, decodes with the zero Status, and encodes to the same
// bytes: a record without a Status is stored as before.
func TestDecodeFormat4Record(t *testing.T) {
	id := revoke.TokenID("v4")
	enc := []byte{
		recordEncoding, flagGrantSelf, byte(revoke.Refresh),
		0, 0, 0, 7, // check
		0x17, 0x97, 0x9c, 0xfe, 0x36, 0x2a, 0x00, 0x00, // expires: 1700000000 s in ns
		0, 0, 0, 0, 0, 0, 0, 5, // seq
		1, 'c', // client
		0, // subject
	}
	want := revoke.Record{ID: id, Check: 7, Kind: revoke.Refresh, ClientID: "c", Grant: id,
		ExpiresAt: time.Unix(1700000000, 0).UTC(), Seq: 5}
	got, err := decodeRecord(id[:], enc)
	if err != nil || got != want {
		t.Fatalf("format 4 record: decoded %+v, %v\nwant %+v", got, err, want)
	}
	if again, err := encodeRecord(nil, got); err != nil || !bytes.Equal(again, enc) {
		t.Errorf("format 4 record re-encodes to %x, %v; want %x", again, err, enc)
	}
}

func TestEncodingRoundTrip(t *testing.T) {
	for i, rec := range sampleRecords() {
		enc, err := encodeRecord(nil, rec)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeRecord(rec.ID[:], enc)
		if err != nil || got != rec {
			t.Errorf("record %d: decoded %+v, %v\nwant %+v", i, got, err, rec)
		}
		// Every strict prefix fails to decode, as does a longer value.
		for n := range enc {
			if _, err := decodeRecord(rec.ID[:], enc[:n]); err == nil {
				t.Errorf("record %d: a %d-byte prefix of %d decoded", i, n, len(enc))
			}
		}
		if _, err := decodeRecord(rec.ID[:], append(enc, 0)); err == nil {
			t.Errorf("record %d: a trailing byte decoded", i)
		}
	}
	// A token starting its own grant: 25 bytes plus client and subject.
	rec := sampleRecords()[0]
	if enc, _ := encodeRecord(nil, rec); len(enc) != 25+len(rec.ClientID)+len(rec.Subject) {
		t.Errorf("root record encodes to %d bytes, want %d", len(enc), 25+len(rec.ClientID)+len(rec.Subject))
	}
}

// TestDecodeStored: a records entry decodes under its key, grant key ‖ ID,
// and a key of another length is revoke.ErrCorrupt.
func TestDecodeStored(t *testing.T) {
	gk := grantKey{0, 0, 0, 0, 0, 0, 1, 2}
	for i, rec := range sampleRecords() {
		enc, err := encodeRecord(nil, rec)
		if err != nil {
			t.Fatal(err)
		}
		k := recordKey(gk, rec.ID)
		if len(k) != recordKeyLen || !bytes.Equal(k[:grantKeyLen], gk[:]) || !bytes.Equal(k[grantKeyLen:], rec.ID[:]) {
			t.Fatalf("record %d: key %x, want grant key ‖ ID", i, k)
		}
		if got, err := decodeStored(k[:], enc); err != nil || got != rec {
			t.Errorf("record %d: decoded %+v, %v\nwant %+v", i, got, err, rec)
		}
		for name, bad := range map[string][]byte{
			"a short key":  k[:recordKeyLen-1],
			"a long key":   append(bytes.Clone(k[:]), 0),
			"the ID alone": rec.ID[:],
		} {
			if _, err := decodeStored(bad, enc); !errors.Is(err, revoke.ErrCorrupt) {
				t.Errorf("record %d under %s: %v, want revoke.ErrCorrupt", i, name, err)
			}
		}
	}
}

// FuzzDecodeRecord: no input makes decodeRecord panic, and what it decodes
// encodes back to a value that decodes to the same record.
func FuzzDecodeRecord(f *testing.F) {
	for _, rec := range sampleRecords() {
		enc, _ := encodeRecord(nil, rec)
		f.Add(enc)
		f.Add(enc[:len(enc)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{recordEncoding, 0xff})
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	id := revoke.TokenID("fuzz")
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := decodeRecord(id[:], b)
		if err != nil {
			return
		}
		enc, err := encodeRecord(nil, rec)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", rec, err)
		}
		again, err := decodeRecord(id[:], enc)
		if err != nil || again != rec {
			t.Fatalf("re-decoded %+v, %v; want %+v", again, err, rec)
		}
	})
}

func TestDecodeRevocation(t *testing.T) {
	id := revoke.TokenID("x")
	exp := time.Unix(0, -5).UTC()
	k, v := orderKey(42, id), revocationValue(7, exp.UnixNano(), revoke.StatusRef{})
	rev, err := decodeRevocation(k, v)
	if want := (revoke.Revocation{ID: id, Check: 7, ExpiresAt: exp, Seq: 42}); err != nil || rev != want {
		t.Errorf("decodeRevocation = %+v, %v; want %+v", rev, err, want)
	}
	// The entry of a record without a Status is that of format 4.
	if len(v) != revValueLen {
		t.Errorf("entry without a Status takes %d bytes, want %d", len(v), revValueLen)
	}
	if _, err := decodeRevocation(k[:10], v); err == nil {
		t.Error("short key decoded")
	}
	if _, err := decodeRevocation(k, v[:3]); err == nil {
		t.Error("short value decoded")
	}
	for _, status := range []revoke.StatusRef{{List: 1}, {List: 3, Index: 200}, {List: math.MaxUint64, Index: math.MaxUint32}} {
		v := revocationValue(7, exp.UnixNano(), status)
		rev, err := decodeRevocation(k, v)
		if want := (revoke.Revocation{ID: id, Check: 7, ExpiresAt: exp, Seq: 42, Status: status}); err != nil || rev != want {
			t.Errorf("decodeRevocation with %+v = %+v, %v; want %+v", status, rev, err, want)
		}
		for n := revValueLen + 1; n < len(v); n++ {
			if _, err := decodeRevocation(k, v[:n]); !errors.Is(err, revoke.ErrCorrupt) {
				t.Errorf("status %+v: a %d-byte prefix of %d: %v, want revoke.ErrCorrupt", status, n, len(v), err)
			}
		}
		if _, err := decodeRevocation(k, append(v, 0)); !errors.Is(err, revoke.ErrCorrupt) {
			t.Errorf("status %+v: a trailing byte: %v, want revoke.ErrCorrupt", status, err)
		}
	}
}

func TestExpiryKeysSort(t *testing.T) {
	id := revoke.TokenID("x")
	ns := []int64{math.MinInt64, -1e18, -1, 0, 1, 1e18, math.MaxInt64}
	for i := 1; i < len(ns); i++ {
		if bytes.Compare(expiryKey(ns[i-1], id), expiryKey(ns[i], id)) >= 0 {
			t.Errorf("expiry key of %d does not sort before that of %d", ns[i-1], ns[i])
		}
	}
}
