package bolt_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdkauth/revocation/bolt"
	"github.com/sdkauth/revocation/revoke"
	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// populated returns the path of a closed store holding n grants, one of them
// revoked.
func populated(t *testing.T, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "revocation.db")
	s, err := bolt.Open(path, bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	for i := range n {
		rt := fmt.Sprintf("refresh-%d", i)
		if err := r.Issue(ctx, revoke.Token{Value: rt, Kind: revoke.Refresh, ClientID: "c", Subject: strings.Repeat("s", 100), ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
		if err := r.Issue(ctx, revoke.Token{Value: fmt.Sprintf("access-%d", i), Kind: revoke.Access, ClientID: "c", Parent: rt, ExpiresAt: exp}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Revoke(ctx, "refresh-0", "c"); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// wantOpenError opens path and wants an error wrapping want, with the
// package's prefix, and the file left unlocked and unchanged.
func wantOpenError(t *testing.T, path string, want error, opts ...bolt.Option) error {
	t.Helper()
	before, _ := os.ReadFile(path)
	s, err := bolt.Open(path, opts...)
	if err == nil {
		s.Close()
		t.Fatalf("Open succeeded, want an error wrapping %v", want)
	}
	if !errors.Is(err, want) {
		t.Fatalf("Open: %v; want an error wrapping %v", err, want)
	}
	if !strings.HasPrefix(err.Error(), "bolt: ") {
		t.Errorf("error %q lacks the \"bolt: \" prefix", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("a failed Open changed the file")
	}
	wantUnlocked(t, path)
	return err
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func writeFile(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "foreign.db")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// withBolt runs fn in a bbolt transaction on the file at path, as another
// program would.
func withBolt(t *testing.T, path string, fn func(*bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// reopen opens path with a Revoker and checks that refresh-0's grant is
// revoked and refresh-1's is not, as populated left them.
func reopen(t *testing.T, path string, opts ...bolt.Option) {
	t.Helper()
	s, err := bolt.Open(path, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for tok, want := range map[string]bool{"refresh-0": true, "access-0": true, "refresh-1": false, "access-1": false} {
		if got, err := r.IsRevoked(ctx, tok); err != nil || got != want {
			t.Errorf("IsRevoked(%s) = %v, %v; want %v", tok, got, err, want)
		}
	}
}

func TestOpenForeignFile(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"RandomBytes", randomBytes(64 << 10)},
		{"FewRandomBytes", randomBytes(100)},
		{"Text", []byte("hello, world\n")},
		{"Zeros", make([]byte, 32<<10)},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := wantOpenError(t, writeFile(t, c.data), revoke.ErrCorrupt)
			t.Log(err)
		})
	}
	t.Run("Directory", func(t *testing.T) {
		if _, err := bolt.Open(t.TempDir()); err == nil || !strings.HasPrefix(err.Error(), "bolt: ") {
			t.Fatalf("Open of a directory: %v, want an error", err)
		}
	})
}

// TestOpenEmptyFile: an empty file is a new database, as bbolt takes it.
func TestOpenEmptyFile(t *testing.T) {
	path := writeFile(t, nil)
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatalf("Open of an empty file: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = bolt.Open(path)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	s.Close()
}

func TestOpenTruncatedFile(t *testing.T) {
	path := populated(t, 2000)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The pages in use end at the high-water mark; bbolt may have grown
	// the file beyond it.
	hw := highWater(data)
	if hw > len(data) || hw < 100*pageSize(data) {
		t.Fatalf("high-water mark %d, file of %d bytes: populated made too small a file", hw, len(data))
	}
	for _, size := range []int{hw / 2, hw - pageSize(data), 3 * pageSize(data), pageSize(data) + 100, 1000, 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			t.Log(wantOpenError(t, writeFile(t, data[:size]), revoke.ErrCorrupt))
		})
	}
	t.Run("AtHighWater", func(t *testing.T) {
		reopen(t, writeFile(t, data[:hw]))
	})
}

// highWater returns the end of the pages in use of a bbolt file, from its
// newer meta page.
func highWater(data []byte) int {
	ps := pageSize(data)
	m0, m1 := data[16:80], data[ps+16:ps+80]
	m := m0
	if txid(m1) > txid(m0) {
		m = m1
	}
	return int(binary.NativeEndian.Uint64(m[40:])) * ps
}

// txid returns the transaction ID of a bbolt meta page.
func txid(meta []byte) uint64 { return binary.NativeEndian.Uint64(meta[48:]) }

// pageSize reads the page size from a bbolt file's first meta page.
func pageSize(data []byte) int {
	return int(binary.NativeEndian.Uint32(data[16+8:]))
}

func TestOpenDamagedFile(t *testing.T) {
	path := populated(t, 500)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ps := pageSize(data)
	t.Run("Pages", func(t *testing.T) {
		// Meta pages intact, every other page random: bbolt reads garbage.
		bad := append(append([]byte(nil), data[:2*ps]...), randomBytes(len(data)-2*ps)...)
		t.Log(wantOpenError(t, writeFile(t, bad), revoke.ErrCorrupt))
	})
	t.Run("BothMetaPages", func(t *testing.T) {
		bad := append([]byte(nil), data...)
		copy(bad[16:80], randomBytes(64))
		copy(bad[ps+16:ps+80], randomBytes(64))
		t.Log(wantOpenError(t, writeFile(t, bad), revoke.ErrCorrupt))
	})
	t.Run("OlderMetaPage", func(t *testing.T) {
		// bbolt needs one good meta page: damage to the older one loses
		// nothing.
		bad := append([]byte(nil), data...)
		off := 16
		if txid(bad[16:80]) > txid(bad[ps+16:ps+80]) {
			off = ps + 16
		}
		copy(bad[off:off+64], randomBytes(64))
		reopen(t, writeFile(t, bad))
	})
	t.Run("NewerMetaPage", func(t *testing.T) {
		// Damage to the newer one falls back on the commit before it:
		// the file opens, without the last commit (the Revoke).
		bad := append([]byte(nil), data...)
		off := 16
		if txid(bad[16:80]) < txid(bad[ps+16:ps+80]) {
			off = ps + 16
		}
		copy(bad[off:off+64], randomBytes(64))
		s, err := bolt.Open(writeFile(t, bad))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		s.Close()
	})
	t.Run("BboltVersion", func(t *testing.T) {
		bad := append([]byte(nil), data...)
		for _, off := range []int{16, ps + 16} {
			m := bad[off : off+64]
			binary.NativeEndian.PutUint32(m[4:], 99)
			h := fnv.New64a()
			h.Write(m[:56])
			binary.NativeEndian.PutUint64(m[56:], h.Sum64())
		}
		t.Log(wantOpenError(t, writeFile(t, bad), revoke.ErrVersion))
	})
}

// TestOpenFormatVersion: a store of a newer or unknown format version is
// refused and left as it is.
func TestOpenFormatVersion(t *testing.T) {
	for _, c := range []struct {
		name    string
		version []byte
		want    error
	}{
		{"Newer", binary.BigEndian.AppendUint32(nil, bolt.FormatVersion+1), revoke.ErrVersion},
		{"Zero", binary.BigEndian.AppendUint32(nil, 0), revoke.ErrVersion},
		{"Version1", binary.BigEndian.AppendUint32(nil, 1), revoke.ErrVersion},
		{"Version2", binary.BigEndian.AppendUint32(nil, 2), revoke.ErrVersion},
		{"Malformed", []byte{1}, revoke.ErrCorrupt},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := populated(t, 1)
			withBolt(t, path, func(tx *bbolt.Tx) error {
				return tx.Bucket([]byte("revocation")).Bucket([]byte("meta")).Put([]byte("version"), c.version)
			})
			t.Log(wantOpenError(t, path, c.want))
		})
	}
	t.Run("NoVersion", func(t *testing.T) {
		path := populated(t, 1)
		withBolt(t, path, func(tx *bbolt.Tx) error {
			return tx.Bucket([]byte("revocation")).Bucket([]byte("meta")).Delete([]byte("version"))
		})
		t.Log(wantOpenError(t, path, revoke.ErrCorrupt))
	})
}

// TestOpenForeignLayout: bbolt databases whose bucket of that name is not a
// revocation store.
func TestOpenForeignLayout(t *testing.T) {
	t.Run("ForeignBucket", func(t *testing.T) {
		// The application uses the bucket name for data of its own.
		path := filepath.Join(t.TempDir(), "app.db")
		withBolt(t, path, func(tx *bbolt.Tx) error {
			b, err := tx.CreateBucket([]byte("revocation"))
			if err != nil {
				return err
			}
			return b.Put([]byte("user"), []byte("data"))
		})
		t.Log(wantOpenError(t, path, revoke.ErrCorrupt))
	})
	t.Run("MissingSubBucket", func(t *testing.T) {
		for _, sub := range []string{"records", "ids", "grantkeys", "expiry", "revoked", "owners"} {
			t.Run(sub, func(t *testing.T) {
				path := populated(t, 1)
				withBolt(t, path, func(tx *bbolt.Tx) error {
					return tx.Bucket([]byte("revocation")).DeleteBucket([]byte(sub))
				})
				t.Log(wantOpenError(t, path, revoke.ErrCorrupt))
			})
		}
	})
	t.Run("OtherBuckets", func(t *testing.T) {
		// An application's database without the store's bucket: Open
		// adds it beside the application's.
		path := filepath.Join(t.TempDir(), "app.db")
		withBolt(t, path, func(tx *bbolt.Tx) error {
			b, err := tx.CreateBucket([]byte("app"))
			if err != nil {
				return err
			}
			return b.Put([]byte("k"), []byte("v"))
		})
		s, err := bolt.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		wantApp(t, db, "k", "v")
	})
}

func TestLockTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "revocation.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		opts     []bolt.Option
		min, max time.Duration
	}{
		{"Default", nil, bolt.DefaultTimeout - 100*time.Millisecond, bolt.DefaultTimeout + time.Second},
		{"Short", []bolt.Option{bolt.WithTimeout(200 * time.Millisecond)}, 100 * time.Millisecond, time.Second},
		{"NoWait", []bolt.Option{bolt.WithTimeout(0)}, 0, 100 * time.Millisecond},
		{"ReadOnly", []bolt.Option{bolt.WithReadOnly(), bolt.WithTimeout(200 * time.Millisecond)}, 100 * time.Millisecond, time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, err := bolt.Open(path, c.opts...)
			took := time.Since(start)
			if !errors.Is(err, bolt.ErrLocked) || !errors.Is(err, berrors.ErrTimeout) || !errors.Is(err, revoke.ErrUnavailable) {
				t.Fatalf("second Open: %v, want ErrLocked", err)
			}
			if took < c.min || took > c.max {
				t.Errorf("second Open failed after %v, want between %v and %v", took, c.min, c.max)
			}
			t.Log(err)
		})
	}
	// The first handle is unharmed, and once closed the file opens.
	if err := s.View(ctx, func(revoke.Tx) error { return nil }); err != nil {
		t.Fatalf("first handle after the failed Opens: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = bolt.Open(path, bolt.WithTimeout(0))
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s.Close()
}

// TestReadOnlySharedLock: read-only handles share the file.
func TestReadOnlySharedLock(t *testing.T) {
	path := populated(t, 2)
	a, err := bolt.Open(path, bolt.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	reopen(t, path, bolt.WithReadOnly(), bolt.WithTimeout(0))
	if _, err := bolt.Open(path, bolt.WithTimeout(0)); !errors.Is(err, bolt.ErrLocked) {
		t.Errorf("writer Open while a reader holds the file: %v, want ErrLocked", err)
	}
}

func TestReadOnly(t *testing.T) {
	t.Run("File", testReadOnlyFile)
	t.Run("Directory", testReadOnlyDirectory)
	t.Run("WithReadOnlyMissingFile", testReadOnlyWithReadOnlyMissingFile)
	t.Run("WithReadOnlyEmptyFile", testReadOnlyWithReadOnlyEmptyFile)
	t.Run("WithReadOnlyNoStore", testReadOnlyWithReadOnlyNoStore)
}

func testReadOnlyFile(t *testing.T) {
	path := populated(t, 2)
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	t.Log(wantOpenError(t, path, revoke.ErrReadOnly))

	// WithReadOnly reads it: IsRevoked works, writes fail.
	s, err := bolt.Open(path, bolt.WithReadOnly())
	if err != nil {
		t.Fatalf("Open WithReadOnly: %v", err)
	}
	r, err := revoke.New(s)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if ok, err := r.IsRevoked(ctx, "access-0"); err != nil || !ok {
		t.Errorf("IsRevoked over a read-only store = %v, %v; want true", ok, err)
	}
	if _, err := r.Revoke(ctx, "refresh-1", "c"); !errors.Is(err, revoke.ErrReadOnly) {
		t.Errorf("Revoke over a read-only store: %v, want ErrReadOnly", err)
	}
	err = r.Issue(ctx, revoke.Token{Value: "new", Kind: revoke.Access, ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)})
	if !errors.Is(err, revoke.ErrReadOnly) {
		t.Errorf("Issue over a read-only store: %v, want ErrReadOnly", err)
	}
	if err := s.Update(ctx, func(revoke.Tx) error { t.Error("Update ran fn"); return nil }); !errors.Is(err, revoke.ErrReadOnly) {
		t.Errorf("Update of a read-only store: %v, want ErrReadOnly", err)
	}
}

func testReadOnlyDirectory(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.db")
	s, err := bolt.Open(existing)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
	path := filepath.Join(dir, "new.db")
	_, err = bolt.Open(path)
	if !errors.Is(err, revoke.ErrReadOnly) {
		t.Fatalf("Open of a new file in a read-only directory: %v, want ErrReadOnly", err)
	}
	t.Log(err)
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed Open left a file behind (%v)", err)
	}
	// bbolt writes no file beside the database: an existing store
	// in a read-only directory works.
	s, err = bolt.Open(existing)
	if err != nil {
		t.Fatalf("Open of a writable file in a read-only directory: %v", err)
	}
	if err := s.Update(ctx, func(revoke.Tx) error { return nil }); err != nil {
		t.Errorf("Update: %v", err)
	}
	s.Close()
}

func testReadOnlyWithReadOnlyMissingFile(t *testing.T) {
	_, err := bolt.Open(filepath.Join(t.TempDir(), "none.db"), bolt.WithReadOnly())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open WithReadOnly of a missing file: %v, want fs.ErrNotExist", err)
	}
}

func testReadOnlyWithReadOnlyEmptyFile(t *testing.T) {
	wantOpenError(t, writeFile(t, nil), revoke.ErrReadOnly, bolt.WithReadOnly())
}

func testReadOnlyWithReadOnlyNoStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	withBolt(t, path, func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucket([]byte("app"))
		return err
	})
	wantOpenError(t, path, revoke.ErrReadOnly, bolt.WithReadOnly())
}

func TestFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "revocation.db")
	s, err := bolt.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("new file's mode: %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	path = filepath.Join(t.TempDir(), "shared.db")
	s, err = bolt.Open(path, bolt.WithFileMode(0o640))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm()&^0o640 != 0 {
		t.Errorf("new file's mode WithFileMode(0640): %v (%v)", fi.Mode().Perm(), err)
	}
	if _, err := bolt.Open(path, bolt.WithFileMode(fs.ModeDir|0o600)); err == nil {
		t.Error("WithFileMode of a non-permission mode accepted")
	}
}
