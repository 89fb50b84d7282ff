package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/sdkauth/revocation/revoke"
)

// The freelist settings Open uses (see the package documentation).
var (
	noFreelistSync = false
	freelistType   = bbolt.FreelistMapType
)

// errPanicked marks an error of guard's.
var errPanicked = errors.New("bbolt panicked reading the file")

// guard runs fn, turning a panic, or a memory fault on bbolt's mapping of a
// damaged file, into an error wrapping revoke.ErrCorrupt. bbolt trusts the pages of
// its file; Open and New use guard so that a foreign or damaged file is
// refused with an error rather than crashing the process.
func guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %w: %v", errCorrupt, errPanicked, p)
		}
	}()
	return fn()
}

// openError classifies an error of bbolt.Open.
func openError(err error, timeout time.Duration) error {
	switch {
	case errors.Is(err, errCorrupt):
		return err
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("%w: still held after waiting %v: %w (%w)", ErrLocked, max(timeout, 0), err, revoke.ErrUnavailable)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum):
		return fmt.Errorf("%w: not a bbolt database: %w", errCorrupt, err)
	case errors.Is(err, berrors.ErrVersionMismatch):
		return fmt.Errorf("%w: bbolt file format: %w", errVersion, err)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
		return fmt.Errorf("%w: %w", errReadOnly, err)
	}
	return err
}

// preflight checks path before bbolt opens it: write permission (even for a
// process, such as root's, that could write regardless: a file or
// directory without write bits is not to be written), and, for an existing
// file, that it is a bbolt database no shorter than its meta page says.
// bbolt maps the file into memory and would fault reading past its end.
func preflight(path string, o options) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		if o.readOnly {
			return fmt.Errorf("WithReadOnly opens an existing store only: %w", err)
		}
		dir := filepath.Dir(path)
		di, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if di.Mode().Perm()&0o222 == 0 {
			return fmt.Errorf("%w: cannot create the file: directory %s is not writable (mode %v)", errReadOnly, dir, di.Mode().Perm())
		}
		return nil
	}
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("not a regular file (mode %v)", fi.Mode())
	}
	if !o.readOnly && fi.Mode().Perm()&0o222 == 0 {
		return fmt.Errorf("%w: the file is not writable (mode %v); open it WithReadOnly to read it", errReadOnly, fi.Mode().Perm())
	}
	if fi.Size() == 0 {
		if o.readOnly {
			return fmt.Errorf("%w: the file is empty and holds no store", errReadOnly)
		}
		return nil // bbolt initialises an empty file
	}
	return checkHeader(path, fi.Size())
}

// bbolt's meta page, format version 2: a 16-byte page header, then magic,
// version, page size, flags (4 bytes each), the root bucket (16), the
// freelist page, the high-water page id and the transaction id (8 each), and
// an FNV-64a checksum of the 56 bytes before it, all in the machine's byte
// order.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	boltPageHeader = 16
	boltMetaLen    = 64
)

var (
	errNoMagic     = errors.New("no bbolt magic number")
	errBoltVersion = errors.New("unsupported bbolt file version")
	errMetaSum     = errors.New("meta page checksum mismatch")
)

type boltMeta struct {
	pageSize uint32
	pgid     uint64 // high-water mark: pages in use
	txid     uint64
}

func readMeta(b []byte) (boltMeta, error) {
	if len(b) < boltPageHeader+boltMetaLen {
		return boltMeta{}, errNoMagic
	}
	b = b[boltPageHeader:]
	e := binary.NativeEndian
	switch {
	case e.Uint32(b) != boltMagic:
		return boltMeta{}, errNoMagic
	case e.Uint32(b[4:]) != boltVersion:
		return boltMeta{}, fmt.Errorf("%w %d", errBoltVersion, e.Uint32(b[4:]))
	}
	h := fnv.New64a()
	h.Write(b[:56])
	if h.Sum64() != e.Uint64(b[56:]) {
		return boltMeta{}, errMetaSum
	}
	return boltMeta{pageSize: e.Uint32(b[8:]), pgid: e.Uint64(b[40:]), txid: e.Uint64(b[48:])}, nil
}

// checkHeader reads the two meta pages of the file at path, as bbolt does,
// and returns an error wrapping revoke.ErrCorrupt if neither is valid or the file
// is shorter than the valid one says, revoke.ErrVersion for another bbolt version.
func checkHeader(path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	read := func(off int64) (boltMeta, error) {
		n, _ := f.ReadAt(buf, off)
		return readMeta(buf[:n])
	}
	m0, err0 := read(0)
	// bbolt finds the second meta page one page in: at the page size the
	// first one gives, or else at each size from 1 KiB to 16 MiB.
	var offs []int64
	if err0 == nil {
		offs = []int64{int64(m0.pageSize)}
	} else {
		for i := range 15 {
			if off := int64(1024) << i; off < size-1024 {
				offs = append(offs, off)
			}
		}
	}
	m1, err1 := boltMeta{}, errNoMagic
	for _, off := range offs {
		if m1, err1 = read(off); err1 == nil {
			break
		}
	}
	m := m0
	switch {
	case err0 != nil && err1 != nil:
		if errors.Is(err0, errBoltVersion) {
			return fmt.Errorf("%w: %w", errVersion, err0)
		}
		if errors.Is(err1, errBoltVersion) {
			return fmt.Errorf("%w: %w", errVersion, err1)
		}
		return fmt.Errorf("%w: not a bbolt database (%v)", errCorrupt, err0)
	case err0 != nil || (err1 == nil && m1.txid > m0.txid):
		m = m1
	}
	if m.pageSize < 512 || m.pageSize&(m.pageSize-1) != 0 {
		return fmt.Errorf("%w: bbolt meta page gives a page size of %d", errCorrupt, m.pageSize)
	}
	if pages := uint64(size) / uint64(m.pageSize); m.pgid > pages {
		return fmt.Errorf("%w: the file is truncated: it holds %d bytes, its meta page describes %d pages of %d bytes", errCorrupt, size, m.pgid, m.pageSize)
	}
	return nil
}
