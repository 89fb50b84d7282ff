package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/sdkauth/revocation/revoke"
)

// saltSum returns the checksum of a segment's salt, which the checksums of
// its frame headers and extent slots continue.
func saltSum(salt []byte) uint32 {
	return crc32.Checksum(salt, castagnoli)
}

// headerSum returns the checksum of a frame header's length and payload
// checksum, h, in the segment whose salt has the checksum salt.
func headerSum(salt uint32, h []byte) uint32 {
	return crc32.Update(salt, castagnoli, h[:8])
}

// slotSum returns the checksum of extent slot i holding extent.
func slotSum(salt uint32, i int, extent uint64) uint32 {
	var b [9]byte
	b[0] = byte(i)
	binary.BigEndian.PutUint64(b[1:], extent)
	return crc32.Update(salt, castagnoli, b[:])
}

// encodeSlot returns extent slot i holding extent.
func encodeSlot(salt uint32, i int, extent uint64) []byte {
	b := binary.BigEndian.AppendUint64(make([]byte, 0, slotLen), extent)
	return binary.BigEndian.AppendUint32(b, slotSum(salt, i, extent))
}

// encodeFrame appends the frame of w, in the segment whose salt has the
// checksum salt, to dst.
func encodeFrame(dst []byte, w *writeSet, salt uint32) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeader)...)
	dst = binary.AppendUvarint(dst, w.seq)
	dst = binary.AppendUvarint(dst, uint64(len(w.order)))
	var rec []byte
	for _, id := range w.order {
		c := w.m[id]
		if c.deleted {
			dst = append(dst, 0)
			dst = append(dst, id[:]...)
			continue
		}
		dst = append(dst, 1)
		dst = append(dst, id[:]...)
		var err error
		if rec, err = encodeRecord(rec[:0], c.rec); err != nil {
			return nil, err
		}
		dst = binary.AppendUvarint(dst, uint64(len(rec)))
		dst = append(dst, rec...)
	}
	payload := dst[start+frameHeader:]
	if len(payload) > maxFrame {
		return nil, fmt.Errorf("bolt: a commit of %d bytes exceeds the journal's frame limit", len(payload))
	}
	h := dst[start : start+frameHeader]
	binary.BigEndian.PutUint32(h, uint32(len(payload)))
	binary.BigEndian.PutUint32(h[4:], crc32.Checksum(payload, castagnoli))
	binary.BigEndian.PutUint32(h[8:], headerSum(salt, h))
	return dst, nil
}

// decodeFrame decodes a frame's payload.
func decodeFrame(p []byte) (*writeSet, error) {
	w := newWriteSet()
	seq, k := binary.Uvarint(p)
	if k <= 0 {
		return nil, errors.New("bad sequence number")
	}
	p = p[k:]
	count, k := binary.Uvarint(p)
	if k <= 0 || count > uint64(len(p)) {
		return nil, errors.New("bad change count")
	}
	p = p[k:]
	for range count {
		if len(p) < 1+idLen {
			return nil, errShort
		}
		op, id := p[0], revoke.ID(p[1:1+idLen])
		p = p[1+idLen:]
		switch op {
		case 0:
			w.set(id, change{deleted: true})
		case 1:
			n, k := binary.Uvarint(p)
			if k <= 0 || n > uint64(len(p)-k) {
				return nil, errShort
			}
			rec, err := decodeRecord(id[:], p[k:k+int(n)])
			if err != nil {
				return nil, err
			}
			p = p[k+int(n):]
			w.set(id, change{rec: rec})
		default:
			return nil, fmt.Errorf("unknown change %d", op)
		}
	}
	if len(p) != 0 {
		return nil, errTrailing
	}
	w.seq = max(w.seq, seq)
	return w, nil
}
