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
// and a key of another length is ErrCorrupt.
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
			if _, err := decodeStored(bad, enc); !errors.Is(err, ErrCorrupt) {
				t.Errorf("record %d under %s: %v, want ErrCorrupt", i, name, err)
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
	k, v := orderKey(42, id), revocationValue(7, exp.UnixNano())
	rev, err := decodeRevocation(k, v)
	if want := (revoke.Revocation{ID: id, Check: 7, ExpiresAt: exp, Seq: 42}); err != nil || rev != want {
		t.Errorf("decodeRevocation = %+v, %v; want %+v", rev, err, want)
	}
	if _, err := decodeRevocation(k[:10], v); err == nil {
		t.Error("short key decoded")
	}
	if _, err := decodeRevocation(k, v[:3]); err == nil {
		t.Error("short value decoded")
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
