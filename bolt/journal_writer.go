package bolt

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// segmentWriter appends the frames of commits to a journal segment and
// records its acknowledged extent.
type segmentWriter struct {
	f      *os.File
	salt   uint32 // the checksum of the segment's salt
	end    int64  // where the next frame goes
	slot   int    // the extent slot the next commit writes
	noSync bool
}

// newSegmentPath returns the path a segment of the journal at prefix is
// created under, before it is renamed to its number.
func newSegmentPath(prefix string) string {
	return prefix + "new"
}

// createSegment creates segment n of the journal at prefix with its
// header: written under newSegmentPath, made durable (unless noSync), then
// renamed to its number, and the rename made durable. A crash thus leaves
// no segment without its whole header, which a cut one could otherwise
// pass for, and the commits it held would be lost unseen.
func createSegment(prefix string, n uint64, mode os.FileMode, noSync bool) (*segmentWriter, error) {
	tmp, path := newSegmentPath(prefix), segmentPath(prefix, n)
	switch _, err := os.Lstat(path); {
	case err == nil:
		return nil, fmt.Errorf("%s exists already", path)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return nil, err
	}
	h := binary.BigEndian.AppendUint32([]byte(journalMagic), journalVersion)
	h = append(h, make([]byte, saltLen)...)
	_, _ = rand.Read(h[saltOffset:]) // never fails
	w := &segmentWriter{f: f, salt: saltSum(h[saltOffset:]), end: journalHeader, noSync: noSync}
	for i := range 2 {
		h = append(h, encodeSlot(w.salt, i, journalHeader)...)
	}
	if _, err := f.Write(h); err != nil {
		return nil, errors.Join(err, f.Close(), os.Remove(tmp))
	}
	if !noSync {
		if err := f.Sync(); err != nil {
			return nil, errors.Join(err, f.Close(), os.Remove(tmp))
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, errors.Join(err, f.Close(), os.Remove(tmp))
	}
	if !noSync {
		if err := syncDir(filepath.Dir(path)); err != nil {
			return nil, errors.Join(err, f.Close(), os.Remove(path))
		}
	}
	return w, nil
}

// removeHalfCreated removes what a crash left of a segment of the journal
// at prefix being created: its header, under newSegmentPath, and no commit.
func removeHalfCreated(prefix string) error {
	if err := os.Remove(newSegmentPath(prefix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing a journal segment left half created: %w", err)
	}
	return nil
}

// append writes frame after the segment's frames, records in an extent
// slot that the frames before it are durable, and makes both durable with
// one fdatasync (unless noSync: nothing is known durable then). The slot's
// claim holds whether or not the sync completes: the previous commit's
// sync made those frames durable.
func (w *segmentWriter) append(frame []byte) error {
	if _, err := w.f.WriteAt(frame, w.end); err != nil {
		return err
	}
	if !w.noSync {
		if err := w.record(w.end); err != nil {
			return err
		}
		if err := syncFile(w.f); err != nil {
			return err
		}
	}
	w.end += int64(len(frame))
	return nil
}

// record writes extent into the slot of its turn.
func (w *segmentWriter) record(extent int64) error {
	i := w.slot
	w.slot ^= 1
	_, err := w.f.WriteAt(encodeSlot(w.salt, i, uint64(extent)), int64(slotsOffset+i*slotLen))
	return err
}

// seal records that every frame of the segment is durable, when commits
// move on to the next segment, and closes the file. The record is not
// synced: if a crash loses it, the slot of the last commit still covers
// every frame but the last.
func (w *segmentWriter) seal() error {
	var err error
	if !w.noSync {
		err = w.record(w.end)
	}
	return errors.Join(err, w.f.Close())
}
